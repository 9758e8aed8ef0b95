"""Figures for text control and for how music is distributed, as pure functions.

One piece is scored against what its prompt asked (``parse_caption``) and against the
prompt's reference piece; a column of such scores is summarised into rates and means.
A rate over pieces whose prompt asked nothing of that kind is None, not 1.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import mean

from midicli.music.analysis import Features, tempo_range
from midicli.music.captions import Requested
from midicli.music.instruments import GM_NAMES
from midicli.music.musicality import LARGE_CLUSTER, LONG_SILENCE, Musicality
from midicli.tokenizers.vocab import DRUMS

_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ACOUSTIC_PIANOS = (0, 1)  # "piano" means either; MidiCaps names both plainly "piano"


def pitch_class(tonic: str) -> int:
    """0–11 for a tonic name such as "F#", "Bb" or "Eb" (so C# and Db are the same key)."""
    return (_LETTERS[tonic[0].upper()] + tonic[1:].count("#") - tonic[1:].count("b")) % 12


def instrument_kind(program: int) -> str:
    """The instrument a listener hears, without GM's variants: the nylon and steel
    acoustic guitars are both "Acoustic Guitar", Slap Bass 1 and 2 are "Slap Bass"."""
    if program == DRUMS:
        return "Drums"
    if program in ACOUSTIC_PIANOS:
        return "Piano"
    return re.sub(r"\s*(\([^)]*\)|\d+)\s*", " ", GM_NAMES[program]).strip()


def meter_class(signature: str) -> str:
    """ "triple" for 3, 9 … beats in a bar (3/4, 9/8), else "duple" (2/4, 4/4, 6/8, 12/8)."""
    numerator, denominator = (int(part) for part in signature.split("/"))
    beats = (
        numerator // 3 if denominator == 8 and numerator % 3 == 0 and numerator > 3 else numerator
    )
    return "triple" if beats % 3 == 0 else "duple"


def meter_agrees(asked: str, measured: Features) -> bool:
    """A declared meter must match exactly; an estimated one only tells duple from triple."""
    if measured.meter_declared:
        return asked == measured.time_signature
    return meter_class(asked) == meter_class(measured.time_signature)


@dataclass(frozen=True)
class Adherence:
    """How one piece meets one request; None where the request said nothing."""

    key: bool | None  # tonic (enharmonics equal) and mode
    mode: bool | None
    tempo: bool | None  # the measured bpm lies in the asked tempo word's range
    time_signature: bool | None
    instruments_asked: int  # distinct instrument kinds named
    instruments_played: int  # distinct kinds heard (0 when none were named)
    instruments_matched: int  # kinds both named and heard


def adherence(asked: Requested, measured: Features) -> Adherence:
    key = mode = None
    if asked.mode:
        mode = asked.mode == measured.mode
        if asked.key:
            key = (
                mode and bool(measured.key) and pitch_class(asked.key) == pitch_class(measured.key)
            )
    tempo = None
    if asked.tempo_word:
        low, high = tempo_range(asked.tempo_word)
        tempo = low < measured.tempo_bpm <= high
    named = {instrument_kind(i) for i in asked.instruments}
    heard = {instrument_kind(i) for i in measured.instruments} if named else set()
    return Adherence(
        key=key,
        mode=mode,
        tempo=tempo,
        time_signature=meter_agrees(asked.time_signature, measured)
        if asked.time_signature
        else None,
        instruments_asked=len(named),
        instruments_played=len(heard),
        instruments_matched=len(named & heard),
    )


def pitch_class_distance(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Total variation distance (0 same, 1 disjoint) of two pitch-class shares; None if either
    is empty."""
    if not any(a) or not any(b):
        return None
    return 0.5 * sum(abs(x - y) for x, y in zip(a, b))


@dataclass(frozen=True)
class Scored:
    """One piece judged against the prompt it answers (features None: no valid music)."""

    features: Features | None
    adherence: Adherence | None
    pitch_class_distance: float | None  # to the prompt's reference piece, when it has one
    musicality: Musicality | None = None

    @property
    def valid(self) -> bool:
        return self.features is not None


def score(
    asked: Requested,
    measured: Features | None,
    reference: Features | None,
    music: Musicality | None = None,
) -> Scored:
    if measured is None:
        return Scored(None, None, None)
    distance = (
        pitch_class_distance(measured.pitch_classes, reference.pitch_classes) if reference else None
    )
    return Scored(measured, adherence(asked, measured), distance, music)


@dataclass(frozen=True)
class Column:
    """The figures of one set of pieces (real, the model's, or shuffled-caption outputs)."""

    pieces: int
    validity: float | None
    key_accuracy: float | None
    mode_accuracy: float | None
    instrument_precision: float | None
    instrument_recall: float | None
    tempo_agreement: float | None
    time_signature_agreement: float | None
    pitch_class_distance: float | None  # mean, to each prompt's reference piece
    notes_per_second: float | None  # mean
    polyphony: float | None  # mean
    duplicate_share: float | None = (
        None  # of all notes: doubling another's instrument, pitch and onset
    )
    large_clusters: float | None = (
        None  # share of pieces with LARGE_CLUSTER or more notes at one onset
    )
    long_silences: float | None = None  # share of pieces with a silence over LONG_SILENCE inside
    horizon_piles: float | None = None  # share of pieces with notes at the 99.99 s horizon
    longest_silence: float | None = None  # mean, seconds
    pitch_class_entropy: float | None = None  # means of MusPy's measures
    scale_consistency: float | None = None
    groove_consistency: float | None = None
    empty_beat_rate: float | None = None


def _rate(answers: Sequence[bool | None]) -> float | None:
    given = [a for a in answers if a is not None]
    return sum(given) / len(given) if given else None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: Sequence[float | None]) -> float | None:
    given = [v for v in values if v is not None]
    return mean(given) if given else None


def summarize(scores: Sequence[Scored]) -> Column:
    """Rates over the valid pieces (validity over all); instrument figures are micro-averaged."""
    valid = [s for s in scores if s.valid]
    judged = [s.adherence for s in valid if s.adherence is not None]
    return Column(
        pieces=len(scores),
        validity=_ratio(len(valid), len(scores)),
        key_accuracy=_rate([a.key for a in judged]),
        mode_accuracy=_rate([a.mode for a in judged]),
        instrument_precision=_ratio(
            sum(a.instruments_matched for a in judged), sum(a.instruments_played for a in judged)
        ),
        instrument_recall=_ratio(
            sum(a.instruments_matched for a in judged), sum(a.instruments_asked for a in judged)
        ),
        tempo_agreement=_rate([a.tempo for a in judged]),
        time_signature_agreement=_rate([a.time_signature for a in judged]),
        pitch_class_distance=_mean([s.pitch_class_distance for s in valid]),
        notes_per_second=_mean([s.features.notes_per_second for s in valid if s.features]),
        polyphony=_mean([s.features.polyphony for s in valid if s.features]),
        **_musicality([s.musicality for s in valid if s.musicality is not None]),
    )


def _musicality(measured: Sequence[Musicality]) -> dict[str, float | None]:
    """Column figures of what a listener hears; all None without measurements."""
    if not measured:
        return {}
    return dict(
        duplicate_share=_ratio(
            sum(m.duplicate_notes for m in measured), sum(m.notes for m in measured)
        ),
        large_clusters=_rate([m.largest_cluster >= LARGE_CLUSTER for m in measured]),
        long_silences=_rate([m.longest_silence > LONG_SILENCE for m in measured]),
        horizon_piles=_rate([m.horizon_notes > 0 for m in measured]),
        longest_silence=_mean([m.longest_silence for m in measured]),
        pitch_class_entropy=_mean([m.pitch_class_entropy for m in measured]),
        scale_consistency=_mean([m.scale_consistency for m in measured]),
        groove_consistency=_mean([m.groove_consistency for m in measured]),
        empty_beat_rate=_mean([m.empty_beat_rate for m in measured]),
    )
