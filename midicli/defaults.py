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

MAX_ONSETS_PER_INSTANT = 24
"""Default cap on notes starting at one instant. The densest instant of the AMT
reference pop arrangement (``strawberry``, 13 instruments) starts 12 notes; twice
that leaves room for a quantized tutti (chords in several parts plus drums) while
stopping MIDI-LLM's degenerate runs of hundreds of simultaneous notes."""
