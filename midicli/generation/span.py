"""Turning "write new notes between two times, around these fixed notes" into what a
model sees: a window of the piece in relative time, prompt events and AMT controls.

Compose, continue and infill are all spans: compose has no fixed notes, continue
starts after the last one, infill has fixed notes on both sides (or around one
instrument). A span longer than a window is written in rounds, each round's window
sliding to the newest notes (arrival-time tokens only reach 99.99 s: TIME is 0..9999
in 10 ms steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from midicli import defaults
from midicli.music.instruments import chord_limits
from midicli.music.piece import Note
from midicli.tokenizers import amt
from midicli.tokenizers.amt_generation import GrammarSpec
from midicli.tokenizers.vocab import CONTROL_OFFSET, MAX_TIME, SEPARATOR, TIME_RESOLUTION

PROMPT_TOKEN_BUDGET = 1024  # music tokens of context: about 340 notes, as AMT's context
CONTEXT_SECONDS = 40  # context kept before the span start, so each round can write ~60 s


def to_ticks(seconds: float) -> int:
    """Seconds → 10 ms ticks, rounded up so a tick is never before the time it stands for."""
    return math.ceil(seconds * TIME_RESOLUTION - 1e-6)


@dataclass(frozen=True)
class Constraints:
    """The user's controls over what may be generated: hard limits for the grammar
    (seconds where the grammar counts ticks) and the soft lean toward a key."""

    instruments: frozenset[int] | None = None
    max_instruments: int = 16
    max_onsets_per_instant: int | None = None  # None: the model's recommendation
    max_onsets_per_instrument: int | None = (
        defaults.MAX_ONSETS_PER_INSTRUMENT
    )  # chordal ones; half for the rest
    max_gap: float | None = defaults.MAX_GAP_SECONDS
    pitch_bias: tuple[float, ...] | None = None
    instrument_bias: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Span:
    """What to write: new notes starting in [start, end) (seconds; end None = open)."""

    fixed: tuple[Note, ...]
    start: float
    end: float | None


@dataclass(frozen=True)
class RoundView:
    """One round's view of the piece: window time 0 is ``origin`` ticks of the piece."""

    origin: int
    music: list[int]  # prompt events with the controls interleaved (AMT order)
    spec: GrammarSpec
    span_stop: int | None  # the span's end in window time (may lie past this window)

    @property
    def anticipates(self) -> bool:
        return bool(self.spec.controls) or any(_is_control(t) for t in self.music)

    @property
    def reaches_span_end(self) -> bool:
        return self.spec.stop_time is not None and self.spec.stop_time == self.span_stop

    def to_notes(self, generated: list[int]) -> list[Note]:
        """Generated music ids → absolute notes. The grammar ends a sequence on a lone
        time token (the one that crossed the stop time): whole triplets only."""
        events, _ = amt.split(generated[: len(generated) - len(generated) % 3])
        return _shift(amt.events_to_notes(events), self.origin / TIME_RESOLUTION)


def _is_control(token: int) -> bool:
    return CONTROL_OFFSET <= token < SEPARATOR


def _shift(notes: list[Note], seconds: float) -> list[Note]:
    return [replace(n, onset=n.onset + seconds) for n in notes]


def round_view(span: Span, written: list[Note], start: float, limits: Constraints) -> RoundView:
    """The round that writes from ``start`` on, given the notes ``written`` so far."""
    start_ticks = to_ticks(start)
    before = sorted([n for n in span.fixed if n.onset < start] + written, key=lambda n: n.onset)
    before = [n for n in before if n.onset >= start - CONTEXT_SECONDS][
        -(PROMPT_TOKEN_BUDGET // 3) :
    ]
    origin = (
        min(start_ticks, math.floor(before[0].onset * TIME_RESOLUTION + 1e-6))
        if before
        else start_ticks
    )
    span_stop = to_ticks(span.end) - origin if span.end is not None else None
    stop = min(span_stop, MAX_TIME - 1) if span_stop is not None else None
    horizon = (origin + MAX_TIME) / TIME_RESOLUTION
    after = sorted((n for n in span.fixed if start <= n.onset < horizon), key=lambda n: n.onset)
    shift = -origin / TIME_RESOLUTION
    events = amt.notes_to_events(_shift(before, shift))
    controls = amt.to_controls(amt.notes_to_events(_shift(after, shift)))
    music, leftover = amt.anticipate(events, controls)
    spec = GrammarSpec(
        history=tuple(music),
        min_time=start_ticks - origin,
        stop_time=stop,
        controls=tuple(leftover),
        instruments=limits.instruments,
        max_instruments=limits.max_instruments,
        max_onsets_per_instant=limits.max_onsets_per_instant or defaults.MAX_ONSETS_PER_INSTANT,
        max_onsets_per_instrument=None
        if limits.max_onsets_per_instrument is None
        else chord_limits(limits.max_onsets_per_instrument),
        max_gap=None if limits.max_gap is None else to_ticks(limits.max_gap),
        fill_slack=0
        if limits.max_gap is None
        else min(to_ticks(defaults.FILL_SLACK_SECONDS), to_ticks(limits.max_gap)),
        pitch_bias=limits.pitch_bias,
        instrument_bias=limits.instrument_bias,
    )
    return RoundView(origin=origin, music=music, spec=spec, span_stop=span_stop)
