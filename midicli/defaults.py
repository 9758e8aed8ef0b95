"""Defaults shared by the library and the CLI (one place for each, so they never disagree)."""

from __future__ import annotations

from pathlib import Path

MIDI_LLM_HUB_ID = "slseanwu/MIDI-LLM_Llama-3.2-1B"
MINI_MODEL_DIR = (
    Path(__file__).parent / "models" / "mini"
)  # the bundled model (recipes/mini.toml, MODEL_CARD.md)
MODEL_PRESETS = {"midi-llm": MIDI_LLM_HUB_ID, "mini": str(MINI_MODEL_DIR)}

TEMPERATURE = 1.0
TOP_P = 0.98
MAX_NEW_TOKENS = 2046
CANDIDATES = 4

MIDI_LLM_TEXT_VOCAB_SIZE = 128_256
MIDI_LLM_VOCAB_SIZE = 183_286

MAX_ONSETS_PER_INSTANT = 16
"""Default cap on notes starting at one instant. The densest instant of the AMT
reference pop arrangement (``strawberry``, 13 instruments) starts 12 notes, and of
980 pieces of music21's corpus (the mini training set) 99 % start at most 10; 16
leaves room for a quantized tutti while stopping degenerate runs of hundreds."""

MAX_ONSETS_PER_INSTRUMENT = 8
"""Default cap on one instrument's notes starting at one instant: two hands' chords.
99 % of the 980 corpus pieces never exceed 8 (one has an 18-note piano cluster)."""

MAX_GAP_SECONDS = 3.0
"""Longest silence before a new note (from the latest end of everything sounding).
Of the 980 corpus pieces, 99 % never fall silent for more than 1 s inside, none for
more than 6 s; generated pieces left 10 s holes and ended early without this."""

FILL_SLACK_SECONDS = 0.5
"""A span counts as filled once its notes sound to within this of its end (a beat at 120 bpm)."""

COMPOSE_SECONDS = 30.0
"""Length of a composed piece unless asked otherwise: a first listen, quick on a CPU."""

BEST_OF = 1
"""Candidates drawn for each one shown when neither the command nor the project says."""

# Pickled weights (*.bin) can run code as they load: only with `midicli --trust-pickle`,
# which sets this variable (so engine processes see it too).
TRUST_PICKLE_ENV = "MIDICLI_TRUST_PICKLE"
