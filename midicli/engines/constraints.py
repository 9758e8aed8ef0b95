"""The AMT token grammar as a per-sequence state machine, shared by every engine.

A :class:`Grammar` says which music ids may come next and is told which one was
emitted, so the transformers sampling loop, a vLLM logits processor and the remote
server's validate-and-resample fallback all enforce the same rules: whole notes of
TIME, DUR, NOTE with times that never go back, and no controls or special tokens.
Everything works in music-token space; :func:`apply_to_logits` adds the text offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from midicli.defaults import MAX_ONSETS_PER_INSTANT
from midicli.tokenizers.vocab import (
    ATIME_OFFSET,
    CONTROL_OFFSET,
    DELTA,
    DUR_OFFSET,
    MAX_DUR,
    MAX_INSTRUMENT,
    MAX_PITCH,
    MAX_TIME,
    NOTE_OFFSET,
    REST,
    TIME_OFFSET,
)

if TYPE_CHECKING:
    import torch


Range = tuple[int, int]
"""Half-open range ``[start, end)`` of music ids."""

_TIME, _DUR, _NOTE = 0, 1, 2  # slots of the (TIME, DUR, NOTE) triplet
_EVENT_BLOCKS: tuple[Range, ...] = ((TIME_OFFSET, DUR_OFFSET), (DUR_OFFSET, NOTE_OFFSET), (NOTE_OFFSET, REST))
_CONTROL_BLOCKS: tuple[Range, ...] = tuple((a + CONTROL_OFFSET, b + CONTROL_OFFSET) for a, b in _EVENT_BLOCKS)


def _slot(token: int, blocks: tuple[Range, ...]) -> int | None:
    """The triplet slot whose block holds ``token``, or None."""
    for slot, (start, end) in enumerate(blocks):
        if start <= token < end:
            return slot
    return None


def _instrument(note: int) -> int:
    """Instrument of a NOTE token (subtract CONTROL_OFFSET first for an ANOTE)."""
    return (note - NOTE_OFFSET) // MAX_PITCH


@dataclass(frozen=True)
class GrammarSpec:
    """What a generation may produce. Times are in AMT units (10 ms).

    ``history``: music tokens of the prompt after AUTOREGRESS/ANTICIPATE (events with
    interleaved controls), possibly ending inside an event triplet. ``controls``:
    (ATIME, ADUR, ANOTE) triplets still to inject, in time order. ``instruments``:
    allow-list for generated notes (0–127 GM programs, 128 drums); ``max_instruments``
    counts history, controls and generated notes together. A generated TIME
    >= ``stop_time`` ends the sequence.
    """

    history: tuple[int, ...] = ()
    min_time: int = 0
    stop_time: int | None = None
    controls: tuple[int, ...] = ()
    instruments: frozenset[int] | None = None
    max_instruments: int = 16
    max_onsets_per_instant: int = MAX_ONSETS_PER_INSTANT
    delta: int = DELTA

    def __post_init__(self) -> None:
        if not 0 <= self.min_time < MAX_TIME:
            raise ValueError(f"min_time must be in 0..{MAX_TIME - 1}, got {self.min_time}")
        if self.stop_time is not None and self.stop_time < 0:
            raise ValueError(f"stop_time must be >= 0, got {self.stop_time}")
        if self.max_instruments < 1 or self.max_onsets_per_instant < 1 or self.delta < 0:
            raise ValueError("max_instruments and max_onsets_per_instant must be >= 1, delta >= 0")
        if self.instruments is not None and not all(0 <= i < MAX_INSTRUMENT for i in self.instruments):
            raise ValueError(f"instruments must be in 0..{MAX_INSTRUMENT - 1}: {sorted(self.instruments)}")
        if len(self.controls) % 3:
            raise ValueError(f"controls must be whole triplets, got {len(self.controls)} tokens")
        triplets = list(zip(self.controls[0::3], self.controls[1::3], self.controls[2::3]))
        for triplet in triplets:
            if tuple(_slot(t, _CONTROL_BLOCKS) for t in triplet) != (_TIME, _DUR, _NOTE):
                raise ValueError(f"controls must be (ATIME, ADUR, ANOTE) triplets, got {triplet}")
        times = [t[0] for t in triplets]
        if times != sorted(times):
            raise ValueError("controls must be in time order")


class Grammar:
    """Where one sequence stands in the token language, and what may come next.

    Events follow the (TIME, DUR, NOTE) triplet with non-decreasing times; controls
    are never sampled but forced, as AMT's ``anticipate`` places them: at a triplet
    boundary, while the latest event time is >= next control time - delta.
    """

    def __init__(self, spec: GrammarSpec) -> None:
        self.spec = spec
        self.finished = False
        self._slot = _TIME  # slot of the next event token
        self._event_time = 0  # time of the most recent event (AMT's event_time)
        self._onsets = 0  # events starting at _event_time
        self._next_control = 0  # index in spec.controls of the next token to inject
        self._instruments = {_instrument(t - CONTROL_OFFSET) for t in spec.controls[2::3]}
        self._note_ranges: tuple[Range, ...] | None = None
        self._read_history(spec.history)
        if not self._notes():
            raise ValueError(
                f"no instrument can be generated: the piece already has {sorted(self._instruments)}"
                f" (max {spec.max_instruments}) and the allow-list is {sorted(spec.instruments or ())}"
            )
        self._settle()

    def allowed(self) -> tuple[Range, ...]:
        """Ascending half-open ranges of music ids allowed next; empty once finished."""
        if self.finished:
            return ()
        control = self._pending_control()
        if control is not None:
            return ((control, control + 1),)
        if self._slot == _TIME:
            return ((TIME_OFFSET + self._time_floor(), TIME_OFFSET + MAX_TIME),)
        if self._slot == _DUR:
            return ((DUR_OFFSET, DUR_OFFSET + MAX_DUR),)
        return self._notes()

    def permits(self, token: int) -> bool:
        """Whether ``token`` may come next."""
        return any(start <= token < end for start, end in self.allowed())

    def forced(self) -> int | None:
        """The only allowed token (an injected control, typically), else None."""
        ranges = self.allowed()
        if len(ranges) == 1 and ranges[0][1] - ranges[0][0] == 1:
            return ranges[0][0]
        return None

    def advance(self, token: int) -> None:
        """Take the music id just emitted; ValueError if the grammar forbids it."""
        if not self.permits(token):
            raise ValueError(f"music token {token} is not allowed here (allowed: {self.allowed()})")
        stop = self.spec.stop_time
        if self._pending_control() is not None:
            self._next_control += 1
        elif self._slot == _TIME and stop is not None and token - TIME_OFFSET >= stop:
            self.finished = True
        else:
            self._take_event(token)
        self._settle()

    def _read_history(self, history: Iterable[int]) -> None:
        control_slot = _TIME
        for index, token in enumerate(history):
            slot = _slot(token, _CONTROL_BLOCKS)
            if slot is not None and slot == control_slot and self._slot == _TIME:
                if slot == _NOTE:
                    self._instruments.add(_instrument(token - CONTROL_OFFSET))
                control_slot = (slot + 1) % 3
            elif control_slot == _TIME and _slot(token, _EVENT_BLOCKS) == self._slot:
                self._take_event(token)
            else:
                raise ValueError(f"history token {token} at index {index} breaks the note triplets")
        if control_slot != _TIME:
            raise ValueError("history ends inside a control triplet")

    def _take_event(self, token: int) -> None:
        if self._slot == _TIME:
            time = token - TIME_OFFSET
            self._onsets = self._onsets + 1 if time == self._event_time else 1
            self._event_time = time
        elif self._slot == _NOTE and _instrument(token) not in self._instruments:
            self._instruments.add(_instrument(token))
            self._note_ranges = None
        self._slot = (self._slot + 1) % 3

    def _settle(self) -> None:
        """Finish when no TIME is left to take (9999 reached with the instant full)."""
        if self._slot == _TIME and self._pending_control() is None and self._time_floor() >= MAX_TIME:
            self.finished = True

    def _pending_control(self) -> int | None:
        controls, i = self.spec.controls, self._next_control
        if i >= len(controls) or self._slot != _TIME:
            return None
        if i % 3 or self._event_time >= controls[i] - ATIME_OFFSET - self.spec.delta:
            return controls[i]
        return None

    def _time_floor(self) -> int:
        full = self._onsets >= self.spec.max_onsets_per_instant
        return max(self._event_time + 1 if full else self._event_time, self.spec.min_time)

    def _notes(self) -> tuple[Range, ...]:
        if self._note_ranges is None:
            allow = self.spec.instruments
            choices: Iterable[int] = range(MAX_INSTRUMENT) if allow is None else allow
            if len(self._instruments) >= self.spec.max_instruments:
                choices = self._instruments.intersection(choices)
            ranges: list[Range] = []
            for instrument in sorted(choices):
                start = NOTE_OFFSET + instrument * MAX_PITCH
                if ranges and ranges[-1][1] == start:
                    ranges[-1] = (ranges[-1][0], start + MAX_PITCH)
                else:
                    ranges.append((start, start + MAX_PITCH))
            self._note_ranges = tuple(ranges)
        return self._note_ranges


def apply_to_logits(
    logits: torch.Tensor, grammars: Sequence[Grammar], text_vocab_size: int, eos_id: int | None
) -> torch.Tensor:
    """Set every id a row's grammar forbids to -inf, in place, and return ``logits``.

    ``logits`` is one row or a batch (one grammar per row) over the full vocabulary,
    where music id k is ``text_vocab_size + k``; text ids are always masked. A finished
    row keeps only ``eos_id``, or is left untouched when ``eos_id`` is None (the caller
    stops it). Only the gaps between allowed ranges are filled, a few slices per row.
    """
    rows = logits.unsqueeze(0) if logits.dim() == 1 else logits
    if rows.shape[0] != len(grammars):
        raise ValueError(f"{rows.shape[0]} logits rows but {len(grammars)} grammars")
    width = rows.shape[-1]
    for row, grammar in zip(rows, grammars):
        if grammar.finished:
            if eos_id is None:
                continue
            keep: Iterable[Range] = ((eos_id, eos_id + 1),)
        else:
            keep = ((text_vocab_size + a, text_vocab_size + b) for a, b in grammar.allowed())
        start = 0
        for a, b in keep:
            if a > start:
                row[start:a] = float("-inf")
            start = b
        if start < width:
            row[start:] = float("-inf")
    return logits


def check_sequence(spec: GrammarSpec, tokens: Iterable[int]) -> int | None:
    """Index of the first music token the grammar forbids (a token after the grammar
    finished included), or None when all are allowed."""
    grammar = Grammar(spec)
    for index, token in enumerate(tokens):
        if grammar.finished or not grammar.permits(token):
            return index
        grammar.advance(token)
    return None
