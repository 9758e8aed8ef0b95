"""Bars and beats ⇄ seconds, so users can say ``--start 9b`` instead of seconds.

The tempo map and meter come from the MIDI file when it declares them; otherwise the
tempo is estimated from the note onsets (MIDI-LLM writes everything at a nominal
120 bpm, which says nothing about the music) and the meter is taken as 4/4.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from dataclasses import dataclass

from midicli.errors import GenerationError
from midicli.music.piece import Piece, TempoChange, TimeSignature


def estimate_bpm(onsets: list[float], low: float = 60.0, high: float = 180.0) -> float:
    """The tempo whose beat grid (anchored at 0) best fits the onsets.

    Each candidate period scores the mean phase agreement of the onsets; a small
    bias toward 120 bpm breaks ties between a tempo and its double or half.
    """
    if len(onsets) < 4:
        return 120.0
    best, best_score = 120.0, -math.inf
    bpm = low
    while bpm <= high:
        period = 60.0 / bpm
        score = sum(math.cos(2 * math.pi * t / period) for t in onsets) / len(onsets)
        score -= 0.05 * abs(math.log2(bpm / 120.0))
        if score > best_score:
            best, best_score = bpm, score
        bpm += 0.5
    return best


@dataclass(frozen=True)
class Meter:
    """A tempo map (seconds → beats) and the time signatures, in quarter-note beats."""

    tempos: tuple[TempoChange, ...]
    signatures: tuple[TimeSignature, ...]

    @classmethod
    def of(cls, piece: Piece) -> Meter:
        tempos = tuple(sorted(piece.tempos, key=lambda t: t.time))
        if not tempos or tempos[0].time > 0:
            first = tempos[0].bpm if tempos else estimate_bpm([n.onset for n in piece.notes])
            tempos = (TempoChange(0.0, first), *tempos)
        signatures = tuple(sorted(piece.time_signatures, key=lambda s: s.time))
        if not signatures or signatures[0].time > 0:
            signatures = (TimeSignature(0.0, 4, 4), *signatures)
        return cls(tempos, signatures)

    def _segments(self) -> list[tuple[float, float, float]]:
        """(start second, start beat, bpm) for each tempo change."""
        segments, beat = [], 0.0
        for i, tempo in enumerate(self.tempos):
            if i:
                previous = self.tempos[i - 1]
                beat += (tempo.time - previous.time) * previous.bpm / 60.0
            segments.append((tempo.time, beat, tempo.bpm))
        return segments

    def beat_at(self, seconds: float) -> float:
        segments = self._segments()
        start, beat, bpm = segments[max(0, bisect_right([s[0] for s in segments], seconds) - 1)]
        return beat + (seconds - start) * bpm / 60.0

    def seconds_at(self, beat: float) -> float:
        segments = self._segments()
        start, first_beat, bpm = segments[max(0, bisect_right([s[1] for s in segments], beat) - 1)]
        return start + (beat - first_beat) * 60.0 / bpm

    def beat_of_bar(self, bar: int, beat_in_bar: float = 1.0) -> float:
        """Quarter-note beat where bar ``bar`` (1-based) beat ``beat_in_bar`` (1-based) falls;
        a beat past the bar's meter is a ValueError (it would roll into the next bar)."""
        bars_done = 0
        changes = [(self.beat_at(s.time), s) for s in self.signatures]
        for i, (at, sig) in enumerate(changes):
            length = sig.numerator * 4.0 / sig.denominator
            following = changes[i + 1][0] if i + 1 < len(changes) else math.inf
            bars_here = (
                math.ceil((following - at) / length - 1e-9) if following < math.inf else math.inf
            )
            if bar - 1 < bars_done + bars_here:
                if beat_in_bar >= sig.numerator + 1:
                    raise ValueError(
                        f"bar {bar} is in {sig.numerator}/{sig.denominator}: its beats run from 1 "
                        f"to {sig.numerator}, not {beat_in_bar:g}"
                    )
                unit = 4.0 / sig.denominator
                return at + (bar - 1 - bars_done) * length + (beat_in_bar - 1) * unit
            bars_done += bars_here
        raise AssertionError("the last meter runs forever")


_TIME = re.compile(
    r"^\s*(?:(?P<seconds>\d+(?:\.\d+)?)s?|(?P<bar>\d+)b(?::?(?P<beat>\d+(?:\.\d+)?))?|(?P<bar2>\d+):(?P<beat2>\d+(?:\.\d+)?))\s*$"
)


def parse_time(spec: str, piece: Piece) -> float:
    """Seconds for ``12.5`` / ``12.5s`` (seconds), ``9b`` (start of bar 9) or ``9:3`` / ``9b3``
    (bar 9, beat 3)."""
    match = _TIME.match(spec)
    if not match:
        raise GenerationError(
            f"cannot read the time {spec!r}: use seconds (12.5), a bar (9b) or bar:beat (9:3)"
        )
    if match["seconds"] is not None:
        return float(match["seconds"])
    bar = int(match["bar"] or match["bar2"])
    beat = float(match["beat"] or match["beat2"] or 1)
    if bar < 1 or beat < 1:
        raise GenerationError(f"bars and beats count from 1, got {spec!r}")
    meter = Meter.of(piece)
    try:
        return meter.seconds_at(meter.beat_of_bar(bar, beat))
    except OverflowError:
        raise GenerationError(
            f"the time {spec[:12]!r}... ({len(spec)} characters) is too far into the piece"
        ) from None
    except ValueError as error:
        raise GenerationError(f"cannot use the time {spec!r}: {error}") from None


def parse_length(spec: str, piece: Piece, start: float) -> float:
    """A length from ``start``: seconds (``20``/``20s``) or bars (``8b``)."""
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(s|b)?\s*$", spec)
    if not match:
        raise GenerationError(f"cannot read the length {spec!r}: use seconds (20) or bars (8b)")
    amount, unit = float(match[1]), match[2] or "s"
    if amount <= 0:
        raise GenerationError(f"the length must be positive, got {spec!r}")
    if unit == "s":
        return amount
    meter = Meter.of(piece)
    beat = meter.beat_at(start)
    signature = [s for s in meter.signatures if s.time <= start + 1e-9][-1]
    return (
        meter.seconds_at(beat + amount * signature.numerator * 4.0 / signature.denominator) - start
    )
