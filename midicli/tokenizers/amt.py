"""The AMT arrival-time codec: short pure functions over flat lists of music ids.

A note is three tokens (TIME, DUR, NOTE) in 10 ms steps; controls are the same
triplets moved into the anticipated block. Ids carry no text-vocabulary offset.
Arithmetic (Python ``round``, duration clip) follows the AMT reference exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from midicli.errors import BadTokensError
from midicli.music.piece import Note, Piece
from midicli.tokenizers.amt_grammar import check_length, check_note, kind, validate
from midicli.tokenizers.base import Tokenizer
from midicli.tokenizers.vocab import (
    ATIME_OFFSET,
    CONTROL_OFFSET,
    DELTA,
    DUR_OFFSET,
    MAX_DUR,
    MAX_INSTRUMENT,
    MAX_PITCH,
    MAX_TIME,
    MUSIC_VOCAB_SIZE,
    NOTE_OFFSET,
    REST,
    SEPARATOR,
    TIME_OFFSET,
    TIME_RESOLUTION,
)

if TYPE_CHECKING:
    from midicli.tokenizers.amt_generation import Grammar, GrammarSpec

__all__ = [
    "AmtTokenizer",
    "Window",
    "anticipate",
    "events_to_notes",
    "kind",
    "notes_to_events",
    "shift",
    "split",
    "to_controls",
    "to_events",
    "validate",
    "window",
    "window_notes",
    "windows",
    "from_windows",
]

DEFAULT_VELOCITY = 72  # what the reference decoder writes
WINDOW_SECONDS = MAX_TIME / TIME_RESOLUTION  # 100 s: the longest stretch arrival times reach


def _ticks(seconds: float) -> int:
    return round(TIME_RESOLUTION * seconds)


def notes_to_events(notes: Iterable[Note], start: float = 0.0) -> list[int]:
    """(TIME, DUR, NOTE) for each note in the given order, times counted from ``start`` s.

    Times must land in 0–99.99 s after ``start``: cut longer pieces with ``windows``.
    """
    origin = _ticks(start)
    events: list[int] = []
    for number, note in enumerate(notes):
        time = _ticks(note.onset) - origin
        if not 0 <= time < MAX_TIME:
            where = (
                f", {time / TIME_RESOLUTION:.2f} s from the window start {start:.2f} s"
                if origin
                else ""
            )
            raise BadTokensError(
                f"note {number} starts at {note.onset:.2f} s{where}: AMT arrival times reach only "
                "0–99.99 s; "
                f"split longer pieces into windows (amt.windows)"
            )
        duration = _ticks(note.duration)
        if (
            duration < 0
            or not 0 <= note.pitch < MAX_PITCH
            or not 0 <= note.instrument < MAX_INSTRUMENT
        ):
            raise BadTokensError(f"note {number} cannot be encoded: {note!r}")
        events += [
            TIME_OFFSET + time,
            DUR_OFFSET + min(duration, MAX_DUR - 1),
            NOTE_OFFSET + MAX_PITCH * note.instrument + note.pitch,
        ]
    return events


def events_to_notes(tokens: Sequence[int], *, controls: bool = False) -> list[Note]:
    """The notes of an event list (velocity 72); REST triplets carry no note.

    With ``controls=True`` control triplets count as notes too and the result is
    ordered by onset (stable), as an interleaved sequence is not.
    """
    start = check_length(tokens)
    notes: list[Note] = []
    for index in range(start, len(tokens), 3):
        is_control = check_note(tokens, index, allow_controls=controls)
        time, duration, note = (
            t - CONTROL_OFFSET if is_control else t for t in tokens[index : index + 3]
        )
        if note == REST:
            continue
        instrument, pitch = divmod(note - NOTE_OFFSET, MAX_PITCH)
        notes.append(
            Note(
                (time - TIME_OFFSET) / TIME_RESOLUTION,
                (duration - DUR_OFFSET) / TIME_RESOLUTION,
                pitch,
                instrument,
                DEFAULT_VELOCITY,
            )
        )
    if controls:
        notes.sort(key=lambda n: n.onset)
    return notes


def to_controls(events: Sequence[int]) -> list[int]:
    """Events moved into the anticipated (control) block; rests are dropped, as a
    control REST would collide with SEPARATOR."""
    check_length(events, specials=False)
    controls: list[int] = []
    for index in range(0, len(events), 3):
        check_note(events, index, allow_controls=False)
        if events[index + 2] != REST:
            controls += [token + CONTROL_OFFSET for token in events[index : index + 3]]
    return controls


def to_events(controls: Sequence[int]) -> list[int]:
    """Controls moved back into the event block."""
    for index, token in enumerate(controls):
        if not CONTROL_OFFSET <= token < CONTROL_OFFSET + REST:
            raise BadTokensError(
                f"token {index} (id {token}): expected a control token "
                f"({CONTROL_OFFSET}–{SEPARATOR - 1}), got {kind(token)}"
            )
    return [token - CONTROL_OFFSET for token in controls]


def anticipate(
    events: Sequence[int], controls: Sequence[int], delta: int = DELTA
) -> tuple[list[int], list[int]]:
    """Interleave controls into events as the AMT reference (and so MIDI-LLM) does.

    Walk the events in order with ``event_time`` = time of the last event emitted
    (0 before any). Before each event, while ``event_time >= control_time - delta``,
    emit the next control. So a control lands right after the first event at or past
    its time minus δ (at the very start if its time is ≤ δ). Controls still waiting
    after the last event are returned as leftovers for the generator to inject later.
    """
    tokens: list[int] = []
    pending = list(controls)
    event_time = 0
    for index in range(0, len(events), 3):
        while pending and event_time >= pending[0] - ATIME_OFFSET - delta:
            tokens += pending[:3]
            del pending[:3]
        tokens += events[index : index + 3]
        event_time = events[index] - TIME_OFFSET
    return tokens, pending


def split(tokens: Sequence[int]) -> tuple[list[int], list[int]]:
    """Undo ``anticipate``: (events, controls), each in its original order."""
    start = check_length(tokens)
    events: list[int] = []
    controls: list[int] = []
    for index in range(start, len(tokens), 3):
        (controls if tokens[index] >= CONTROL_OFFSET else events).extend(tokens[index : index + 3])
    return events, controls


def shift(tokens: Sequence[int], ticks: int) -> list[int]:
    """Events or controls with every time moved by ``ticks`` (10 ms steps, may be negative)."""
    check_length(tokens, specials=False)
    shifted = list(tokens)
    for index in range(0, len(shifted), 3):
        base = ATIME_OFFSET if shifted[index] >= CONTROL_OFFSET else TIME_OFFSET
        time = shifted[index] - base + ticks
        if not 0 <= time < MAX_TIME:
            raise BadTokensError(
                f"token {index} (id {tokens[index]}): moving it by {ticks / TIME_RESOLUTION:.2f} s "
                f"puts it at {time / TIME_RESOLUTION:.2f} s, outside 0–99.99 s"
            )
        shifted[index] = base + time
    return shifted


@dataclass(frozen=True)
class Window:
    """A stretch of a piece as events whose times count from ``start`` seconds, so any
    part of a long piece fits the 0–99.99 s that arrival times reach."""

    start: float
    events: list[int]


def window(notes: Iterable[Note], start: float, end: float | None = None) -> Window:
    """The notes starting in [start, end) (to the end of the piece when ``end`` is None),
    timed from ``start``; ``start`` is rounded to 10 ms."""
    first = _ticks(start)
    last = None if end is None else _ticks(end)
    chosen = [
        n for n in notes if first <= _ticks(n.onset) and (last is None or _ticks(n.onset) < last)
    ]
    return Window(first / TIME_RESOLUTION, notes_to_events(chosen, first / TIME_RESOLUTION))


def windows(notes: Sequence[Note], length_s: float = WINDOW_SECONDS) -> list[Window]:
    """Consecutive windows of ``length_s`` seconds (at most 100) from 0 s covering every
    note; a window in a long silence has no events."""
    length = _ticks(length_s)
    if not 0 < length <= MAX_TIME:
        raise BadTokensError(f"window length {length_s} s must be between 0.01 and 100 s")
    count = max((_ticks(n.onset) for n in notes), default=-1) // length + 1
    groups: list[list[Note]] = [[] for _ in range(count)]
    for note in notes:
        groups[max(_ticks(note.onset) // length, 0)].append(note)
    starts = [k * length / TIME_RESOLUTION for k in range(count)]
    return [Window(start, notes_to_events(group, start)) for start, group in zip(starts, groups)]


def window_notes(part: Window) -> list[Note]:
    """The notes of a window at their absolute times."""
    origin = _ticks(part.start)
    return [
        replace(n, onset=(origin + _ticks(n.onset)) / TIME_RESOLUTION)
        for n in events_to_notes(part.events)
    ]


def from_windows(parts: Iterable[Window]) -> list[Note]:
    """The inverse of ``windows``: all notes at their absolute times, window by window."""
    return [note for part in parts for note in window_notes(part)]


class AmtTokenizer(Tokenizer):
    """MIDI-LLM's music language. Pieces must start every note before 100 s: longer
    ones raise BadTokensError pointing to ``windows``, since silently dropping the rest
    would lose music."""

    name = "amt"
    description = "Anticipatory Music Transformer arrival-time tokens (MIDI-LLM's music vocabulary)"
    vocab_size = MUSIC_VOCAB_SIZE

    def _encode(self, piece: Piece) -> list[int]:
        return notes_to_events(piece.notes)

    def _validate(self, tokens: list[int]) -> None:
        validate(tokens)

    def grammar(self, spec: GrammarSpec) -> Grammar:
        """The generation grammar every engine enforces: this validator's triplets and
        time order, plus the musical limits of ``spec``."""
        return spec.start()

    def _decode(self, tokens: list[int]) -> Piece:
        return Piece(notes=events_to_notes(tokens, controls=True))
