"""Pieces → training sequences in MIDI-LLM's music layout.

A piece is cut into chunks that fit the context (at most ``max_tokens`` music tokens
and under the 100 s that arrival times reach), each timed from its first note. Every
chunk gives a plain (AUTOREGRESS) sequence and, as AMT trains its infilling, copies in
which some notes become anticipated controls interleaved by ``amt.anticipate``: a
stretch of time, or some of the instruments.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Set
from dataclasses import dataclass

from midicli.music.piece import Note
from midicli.tokenizers import amt
from midicli.tokenizers.vocab import (
    ANTICIPATE,
    AUTOREGRESS,
    DELTA_SECONDS,
    MAX_TIME,
    TIME_RESOLUTION,
)

PLAIN, SPAN, INSTRUMENT = "plain", "span", "instrument"


@dataclass(frozen=True)
class Chunk:
    """Consecutive notes of a piece (absolute times, in onset order) that fit one sequence."""

    start: float  # seconds into the piece, on the 10 ms grid: time 0 of the sequence
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class TokenSequence:
    """One training sequence's music: AUTOREGRESS or ANTICIPATE, then events with any
    controls interleaved (music ids, no text offset)."""

    augmentation: str  # PLAIN, SPAN or INSTRUMENT
    music: list[int]

    @property
    def anticipates(self) -> bool:
        return self.music[0] == ANTICIPATE


def _ticks(seconds: float) -> int:
    return round(TIME_RESOLUTION * seconds)


def chunks(notes: Iterable[Note], max_tokens: int, min_notes: int = 1) -> list[Chunk]:
    """The piece cut into consecutive chunks of at most ``max_tokens`` music tokens (3 a
    note) whose onsets lie within 99.99 s of their first; chunks with fewer than
    ``min_notes`` notes (a stray tail) are left out."""
    per_chunk = max_tokens // 3
    if per_chunk < 1:
        raise ValueError(f"a chunk of {max_tokens} tokens cannot hold one note (3 tokens)")
    found: list[Chunk] = []
    current: list[Note] = []
    start = 0
    for note in sorted(notes, key=lambda n: n.onset):  # stable: simultaneous notes keep their order
        if current and (len(current) == per_chunk or _ticks(note.onset) - start >= MAX_TIME):
            found.append(Chunk(start / TIME_RESOLUTION, tuple(current)))
            current = []
        if not current:
            start = max(_ticks(note.onset), 0)
        current.append(note)
    if current:
        found.append(Chunk(start / TIME_RESOLUTION, tuple(current)))
    return [chunk for chunk in found if len(chunk.notes) >= min_notes]


def encode(chunk: Chunk, controlled: Set[int] = frozenset()) -> list[int]:
    """The chunk's sequence with the notes at the ``controlled`` indices as controls.

    Controls left over after the last event (more than δ after it) are dropped, as AMT
    drops what falls past the end of a context: where the chunk ends, no event follows
    that they could be placed after.
    """
    events = amt.notes_to_events(
        [n for i, n in enumerate(chunk.notes) if i not in controlled], chunk.start
    )
    controls = amt.to_controls(
        amt.notes_to_events([n for i, n in enumerate(chunk.notes) if i in controlled], chunk.start)
    )
    music, leftover = amt.anticipate(events, controls)
    placed = len(controls) - len(leftover)
    return [ANTICIPATE if placed else AUTOREGRESS, *music]


def span_controls(chunk: Chunk, rng: random.Random) -> set[int]:
    """The notes of a stretch [a, b) as controls: ``a`` at a random note after the first,
    ``b`` the chunk's end half the time (writing up to known music, as ``infill`` asks),
    else 5–20 s later (AMT's anticipated spans)."""
    onsets = [note.onset for note in chunk.notes]
    a = onsets[rng.randrange(1, len(onsets))]
    b = math.inf if rng.random() < 0.5 else a + rng.uniform(DELTA_SECONDS, 4 * DELTA_SECONDS)
    return {i for i, onset in enumerate(onsets) if a <= onset < b}


def instrument_controls(chunk: Chunk, rng: random.Random) -> set[int]:
    """The notes of some instruments (at least one, never all) as controls, AMT's
    accompaniment task: ``infill --instrument`` writes one part against the others."""
    instruments = sorted({note.instrument for note in chunk.notes})
    chosen = set(rng.sample(instruments, rng.randint(1, len(instruments) - 1)))
    return {i for i, note in enumerate(chunk.notes) if note.instrument in chosen}


def sequences(chunk: Chunk, copies: int, rng: random.Random) -> list[TokenSequence]:
    """``copies`` sequences of the chunk: the plain one first, then augmented ones (an
    instrument split or a span, at random; a span for one-instrument chunks)."""
    found = [TokenSequence(PLAIN, encode(chunk))]
    if len(chunk.notes) < 2:
        return found
    several = len({note.instrument for note in chunk.notes}) > 1
    for _ in range(copies - 1):
        if several and rng.random() < 0.5:
            found.append(TokenSequence(INSTRUMENT, encode(chunk, instrument_controls(chunk, rng))))
        else:
            found.append(TokenSequence(SPAN, encode(chunk, span_controls(chunk, rng))))
    return found
