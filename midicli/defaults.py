"""Defaults shared by the library and the CLI (one place, DESIGN.md §2)."""

from __future__ import annotations

MIDI_LLM_HUB_ID = "slseanwu/MIDI-LLM_Llama-3.2-1B"
MODEL_PRESETS = {"midi-llm": MIDI_LLM_HUB_ID}

TEMPERATURE = 1.0
TOP_P = 0.98
MAX_NEW_TOKENS = 2046
CANDIDATES = 4

MIDI_LLM_TEXT_VOCAB_SIZE = 128_256
MIDI_LLM_VOCAB_SIZE = 183_286
