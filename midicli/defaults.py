"""Defaults shared by the library and the CLI (one place for each, so they never disagree)."""

from __future__ import annotations

from pathlib import Path

MIDI_LLM_HUB_ID = "slseanwu/MIDI-LLM_Llama-3.2-1B"
MINI_MODEL_DIR = Path(__file__).parent / "models" / "mini"  # the bundled model (recipes/mini.toml, MODEL_CARD.md)
MODEL_PRESETS = {"midi-llm": MIDI_LLM_HUB_ID, "mini": str(MINI_MODEL_DIR)}

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
