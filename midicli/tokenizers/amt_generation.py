"""What an AMT generation may produce: the token grammar as a per-sequence state machine.

A :class:`Grammar` says which music ids may come next and is told which one was
emitted, so the transformers sampling loop, a vLLM logits processor and the remote
server's validate-and-resample fallback all enforce the same rules
(``engines.constraints`` applies it to logits). Everything works in music-token space.

Besides AMT's format (the validator's :class:`~midicli.tokenizers.amt_grammar.Cursor`;
controls where anticipation puts them) it enforces what is never music: a note doubling another of
the same instrument, pitch and onset; more notes starting at one instant (in all, and
per instrument) than any real score has; silence the model was not asked for (with
``max_gap``, a new note starts at most that long after everything sounding has ended,
and a window ends only once its span is filled); and piles at the 99.99 s horizon (a
TIME there ends the window, so the caller can go on in a new one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from midicli.defaults import MAX_ONSETS_PER_INSTANT
from midicli.tokenizers.amt_grammar import Cursor, Range
from midicli.tokenizers.base import TokenGrammar
from midicli.tokenizers.vocab import (
    ATIME_OFFSET,
    CONTROL_OFFSET,
    DELTA,
    DRUMS,
    DUR_OFFSET,
    MAX_DUR,
    MAX_INSTRUMENT,
    MAX_PITCH,
    MAX_TIME,
    NOTE_OFFSET,
    TIME_OFFSET,
)

if TYPE_CHECKING:
    import torch


_TIME, _DUR, _NOTE = 0, 1, 2  # slots of the (TIME, DUR, NOTE) triplet


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
    >= ``stop_time`` (else at the 99.99 s horizon) ends the sequence.

    ``max_onsets_per_instrument``: per instrument (0–128), the most notes it may
    start at one instant.
    ``max_gap`` (None: no limit) bounds the silence before a new note: it starts at
    most that long after the latest end of the notes before it (the controls' too),
    and the sequence may end only once those reach ``stop_time - fill_slack``.
    ``pitch_bias``: 12 values added to the logits of pitched notes by pitch class
    (C first), a soft lean toward a key; ``instrument_bias``: per instrument (0–128)
    a value added to the logits of its notes, a soft lean toward the instruments
    asked for. Every engine with the grammar applies both alike.
    """

    history: tuple[int, ...] = ()
    min_time: int = 0
    stop_time: int | None = None
    controls: tuple[int, ...] = ()
    instruments: frozenset[int] | None = None
    max_instruments: int = 16
    max_onsets_per_instant: int = MAX_ONSETS_PER_INSTANT
    max_onsets_per_instrument: tuple[int, ...] | None = None
    max_gap: int | None = None
    fill_slack: int = 0
    pitch_bias: tuple[float, ...] | None = None
    instrument_bias: tuple[float, ...] | None = None
    delta: int = DELTA

    def __post_init__(self) -> None:
        if not 0 <= self.min_time < MAX_TIME:
            raise ValueError(f"min_time must be in 0..{MAX_TIME - 1}, got {self.min_time}")
        if self.stop_time is not None and self.stop_time < 0:
            raise ValueError(f"stop_time must be >= 0, got {self.stop_time}")
        if self.max_instruments < 1 or self.max_onsets_per_instant < 1 or self.delta < 0:
            raise ValueError("max_instruments and max_onsets_per_instant must be >= 1, delta >= 0")
        caps = self.max_onsets_per_instrument
        if caps is not None and (len(caps) != MAX_INSTRUMENT or min(caps) < 1):
            raise ValueError(
                f"max_onsets_per_instrument needs {MAX_INSTRUMENT} values of at least 1"
            )
        if self.max_gap is not None and not 0 <= self.fill_slack <= self.max_gap:
            raise ValueError(
                f"need 0 <= fill_slack <= max_gap, got {self.fill_slack} and {self.max_gap}"
            )
        if self.pitch_bias is not None and len(self.pitch_bias) != 12:
            raise ValueError(
                f"pitch_bias needs 12 values (one per pitch class), got {len(self.pitch_bias)}"
            )
        if self.instrument_bias is not None and len(self.instrument_bias) != MAX_INSTRUMENT:
            raise ValueError(
                f"instrument_bias needs {MAX_INSTRUMENT} values, got {len(self.instrument_bias)}"
            )
        if self.instruments is not None and not all(
            0 <= i < MAX_INSTRUMENT for i in self.instruments
        ):
            raise ValueError(
                f"instruments must be in 0..{MAX_INSTRUMENT - 1}: {sorted(self.instruments)}"
            )
        if len(self.controls) % 3:
            raise ValueError(f"controls must be whole triplets, got {len(self.controls)} tokens")
        cursor = Cursor()
        for index, token in enumerate(self.controls):
            why = cursor.take(token)
            if why is None and not cursor.control:
                why = "an event where only controls may stand"
            if why is not None:
                raise ValueError(
                    f"controls must be (ATIME, ADUR, ANOTE) triplets in time order: token {index}: "
                    f"{why}"
                )

    def start(self) -> Grammar:
        """The grammar of one new sequence under this spec."""
        return Grammar(self)


class Grammar(TokenGrammar):
    """Where one sequence stands in the token language, and what may come next.

    Events follow the (TIME, DUR, NOTE) triplet with non-decreasing times; controls
    are never sampled but forced, as AMT's ``anticipate`` places them: at a triplet
    boundary, while the latest event time is >= next control time - delta.
    """

    def __init__(self, spec: GrammarSpec) -> None:
        self.spec = spec
        self.finished = False
        self._cursor = Cursor()  # the format: triplet slots and time order
        self._event_time = 0  # time of the most recent event (AMT's event_time)
        self._onsets = 0  # events starting at _event_time
        self._instant: dict[int, set[int]] = {}  # instrument -> NOTE tokens begun at _event_time
        self._next_control = 0  # index in spec.controls of the next token to inject
        self._instruments = {_instrument(t - CONTROL_OFFSET) for t in spec.controls[2::3]}
        self._reach = (
            spec.min_time
        )  # latest end of the notes so far (and of the controls chained to them)
        self._control_spans = _spans(spec.controls)  # (onset, end) of known future notes, by onset
        self._chained = 0  # how many of them _reach already covers
        self._stop = MAX_TIME - 1 if spec.stop_time is None else min(spec.stop_time, MAX_TIME - 1)
        self._band_ranges: tuple[Range, ...] | None = None
        self._note_ranges: tuple[Range, ...] | None = None
        self._bias: torch.Tensor | None = None
        self._read_history(spec.history)
        if not self._band():
            raise ValueError(
                f"no instrument can be generated: the piece already has {sorted(self._instruments)}"
                f" (max {spec.max_instruments}) and the allow-list is "
                f"{sorted(spec.instruments or ())}"
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
            return tuple((TIME_OFFSET + a, TIME_OFFSET + b) for a, b in self._times())
        if self._slot == _DUR:
            return ((DUR_OFFSET, DUR_OFFSET + MAX_DUR),)
        return self._notes()

    def lean(self) -> tuple[int, torch.Tensor] | None:
        """From the first NOTE id on, per NOTE id, the lean (key and instruments) to add
        to its logit when the next token is a sampled note and the spec leans; else None."""
        pitches, instruments = self.spec.pitch_bias, self.spec.instrument_bias
        if pitches is None and instruments is None:
            return None
        if self.finished or self._slot != _NOTE or self._pending_control() is not None:
            return None
        if self._bias is None:
            import torch

            bias = torch.zeros(MAX_INSTRUMENT, MAX_PITCH)
            if pitches is not None:  # drums have no key
                bias[:DRUMS] += torch.tensor([pitches[pitch % 12] for pitch in range(MAX_PITCH)])
            if instruments is not None:
                bias += torch.tensor(instruments).unsqueeze(1)
            self._bias = bias.reshape(-1)
        return NOTE_OFFSET, self._bias

    def advance(self, token: int) -> None:
        """Take the music id just emitted; ValueError if the grammar forbids it."""
        if not self.permits(token):
            raise ValueError(f"music token {token} is not allowed here (allowed: {self.allowed()})")
        if self._pending_control() is not None:
            self._next_control += 1
            self._cursor.take(token)
        elif self._slot == _TIME and token - TIME_OFFSET >= self._stop:
            self.finished = True
        else:
            slot = self._slot
            self._cursor.take(token)
            self._take_event(token, slot)
        self._settle()

    @property
    def _slot(self) -> int:
        """Slot of the next token in its triplet."""
        return self._cursor.slot

    def _read_history(self, history: Iterable[int]) -> None:
        for index, token in enumerate(history):
            slot, why = self._slot, self._cursor.take(token)
            if why is not None:
                raise ValueError(
                    f"history token {token} at index {index} breaks the note triplets: {why}"
                )
            if not self._cursor.control:
                self._take_event(token, slot)
            elif slot == _NOTE:
                self._instruments.add(_instrument(token - CONTROL_OFFSET))
        if self._cursor.control and self._slot != _TIME:
            raise ValueError("history ends inside a control triplet")
        known = _spans(tuple(t for t in history if t >= CONTROL_OFFSET)) + self._control_spans
        self._control_spans = sorted(known)

    def _take_event(self, token: int, slot: int) -> None:
        """Count an event token the cursor has taken at ``slot`` of its triplet."""
        if slot == _TIME:
            time = token - TIME_OFFSET
            if time != self._event_time:
                self._onsets, self._instant = 0, {}
            self._onsets += 1
            self._event_time = time
        elif slot == _DUR:
            self._reach = max(self._reach, self._event_time + token - DUR_OFFSET)
        else:
            instrument = _instrument(token)
            self._instant.setdefault(instrument, set()).add(token)
            if instrument not in self._instruments:
                self._instruments.add(instrument)
                self._band_ranges = None
        self._note_ranges = None

    def _settle(self) -> None:
        """Finish when no TIME is left to take (the last instant full)."""
        if (
            self._slot == _TIME
            and self._pending_control() is None
            and self._time_floor() >= MAX_TIME
        ):
            self.finished = True

    def _pending_control(self) -> int | None:
        controls, i = self.spec.controls, self._next_control
        if i >= len(controls):
            return None
        if i % 3:  # inside a control: its rest follows
            return controls[i]
        if self._slot == _TIME and self._event_time >= controls[i] - ATIME_OFFSET - self.spec.delta:
            return controls[i]
        return None

    def _time_floor(self) -> int:
        full = self._onsets >= self.spec.max_onsets_per_instant or not self._notes()
        return max(self._event_time + 1 if full else self._event_time, self.spec.min_time)

    def _times(self) -> list[Range]:
        """Allowed times (half-open, in ticks): on from the floor, within ``max_gap`` of
        what sounds, and past the stop only once the span is filled."""
        floor, stop, gap = self._time_floor(), self._stop, self.spec.max_gap
        if gap is None or floor >= stop:
            return [(floor, MAX_TIME)]
        spans, reach = self._control_spans, self._reach
        while self._chained < len(spans) and spans[self._chained][0] <= reach + gap:
            reach = max(reach, spans[self._chained][1])
            self._chained += 1
        self._reach = reach
        times = [(floor, min(reach + gap, stop - 1) + 1)] if floor <= reach + gap else []
        if reach >= stop - self.spec.fill_slack or not times:
            times.append((max(stop, floor), MAX_TIME))
        return list(_merge(times))

    def _band(self) -> tuple[Range, ...]:
        """NOTE ids of every instrument that may play, whatever the current instant holds."""
        if self._band_ranges is None:
            allow = self.spec.instruments
            choices: Iterable[int] = range(MAX_INSTRUMENT) if allow is None else allow
            if len(self._instruments) >= self.spec.max_instruments:
                choices = self._instruments.intersection(choices)
            blocks = [
                (NOTE_OFFSET + i * MAX_PITCH, NOTE_OFFSET + (i + 1) * MAX_PITCH)
                for i in sorted(choices)
            ]
            self._band_ranges = _merge(blocks)
        return self._band_ranges

    def _notes(self) -> tuple[Range, ...]:
        """The band less what this instant already holds: no note twice, no instrument past its
        cap."""
        if self._note_ranges is None:
            caps = self.spec.max_onsets_per_instrument
            holes: list[Range] = []
            for instrument, begun in self._instant.items():
                if caps is not None and len(begun) >= caps[instrument]:
                    holes.append(
                        (
                            NOTE_OFFSET + instrument * MAX_PITCH,
                            NOTE_OFFSET + (instrument + 1) * MAX_PITCH,
                        )
                    )
                else:
                    holes += [(t, t + 1) for t in begun]
            self._note_ranges = _subtract(self._band(), sorted(holes))
        return self._note_ranges


def _spans(controls: Sequence[int]) -> list[tuple[int, int]]:
    """(onset, end) in ticks of each whole (ATIME, ADUR, ANOTE) triplet."""
    return [
        (t - ATIME_OFFSET, t - ATIME_OFFSET + d - CONTROL_OFFSET - DUR_OFFSET)
        for t, d in zip(controls[0::3], controls[1::3])
    ]


def _merge(blocks: Sequence[Range]) -> tuple[Range, ...]:
    """Ascending, non-overlapping blocks with touching neighbours joined."""
    merged: list[Range] = []
    for start, end in blocks:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _subtract(ranges: Sequence[Range], holes: Sequence[Range]) -> tuple[Range, ...]:
    """``ranges`` without the ids in ``holes`` (both ascending and non-overlapping)."""
    out: list[Range] = []
    i = 0
    for start, end in ranges:
        while i < len(holes) and holes[i][1] <= start:
            i += 1
        j = i
        while j < len(holes) and holes[j][0] < end:
            if holes[j][0] > start:
                out.append((start, holes[j][0]))
            start = max(start, holes[j][1])
            j += 1
        if start < end:
            out.append((start, end))
    return tuple(out)
