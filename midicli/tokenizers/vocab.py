"""The AMT arrival-time token vocabulary: the one source of truth for its offsets.

Each note is three tokens (TIME, DUR, NOTE). Anticipated copies (controls) of the
three blocks follow at CONTROL_OFFSET. MIDI-LLM appends this music vocabulary after
the text vocabulary, so music token k is model id ``text_vocab_size + k``.
"""

from __future__ import annotations

from midicli.music.piece import DRUMS as DRUMS  # re-exported: token code speaks of the drum kit too
from midicli.music.piece import INSTRUMENTS, PITCHES

TIME_RESOLUTION = 100  # ticks per second: one time unit is 10 ms
MAX_TIME = 10_000  # arrival times 0..9999 (0–99.99 s)
MAX_DUR = 1_000  # durations 0..999 (0–9.99 s)
MAX_PITCH = PITCHES
MAX_INSTRUMENT = INSTRUMENTS  # 0–127 General MIDI programs, 128 = drums
MAX_NOTE = MAX_PITCH * MAX_INSTRUMENT  # 16,512

TIME_OFFSET = 0
DUR_OFFSET = TIME_OFFSET + MAX_TIME  # 10,000
NOTE_OFFSET = DUR_OFFSET + MAX_DUR  # 11,000
REST = NOTE_OFFSET + MAX_NOTE  # 27,512

CONTROL_OFFSET = REST + 1  # 27,513
ATIME_OFFSET = CONTROL_OFFSET + TIME_OFFSET  # 27,513
ADUR_OFFSET = CONTROL_OFFSET + DUR_OFFSET  # 37,513
ANOTE_OFFSET = CONTROL_OFFSET + NOTE_OFFSET  # 38,513

SEPARATOR = ANOTE_OFFSET + MAX_NOTE  # 55,025
AUTOREGRESS = SEPARATOR + 1  # 55,026
ANTICIPATE = SEPARATOR + 2  # 55,027

MUSIC_VOCAB_SIZE = 55_030  # MIDI-LLM's music vocabulary (ids above 55,027 unused)

DELTA_SECONDS = 5  # anticipation interval of AMT
DELTA = DELTA_SECONDS * TIME_RESOLUTION
