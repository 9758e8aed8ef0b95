"""Ranking candidates before anyone listens: how well each follows its words, and
whether it sounds like music.

The score is the mean of the parts that apply, each from 0 to 1:

- ``key``: 1 when the measured key (music21's estimate) is the caption's key and
  mode, 0.5 when it shares the caption key's scale (its relative) or its tonic, else 0;
- ``instruments``: F1 of the instrument kinds named and heard;
- ``tempo``: 1 when the measured tempo lies in the caption's tempo word's range;
- ``meter``: 1 when the meter agrees with the caption's time signature;
- ``music`` (always): the share of notes not doubled, times 1 without an onset pile
  of 12 or more notes, times a falloff for a silence over 3 s (0 at 10 s), times 0
  with notes at the 99.99 s horizon.

Caption parts apply only when the caption asks for that kind of thing, so a caption
that names nothing is ranked on musicality alone. Ties keep the drawing order.
"""

from __future__ import annotations

from dataclasses import dataclass

from midicli.evaluation.metrics import adherence, pitch_class
from midicli.music.analysis import Features, features
from midicli.music.captions import Requested
from midicli.music.musicality import LARGE_CLUSTER, LONG_SILENCE, Musicality, musicality
from midicli.music.piece import Piece

QUIET_SECONDS = 3.0  # silence up to this long costs nothing
_MINOR_TO_RELATIVE_MAJOR = 3  # semitones from a minor tonic to its relative major's


@dataclass(frozen=True)
class Ranking:
    """A candidate's score, its parts and the words that explain it."""

    score: float
    parts: dict[str, float]
    why: str


def music_part(measured: Musicality) -> float:
    """How far a piece is from what is never music (1: nothing wrong)."""
    part = 1.0 - measured.duplicate_share
    if measured.largest_cluster >= LARGE_CLUSTER:
        part *= 0.5
    if measured.longest_silence > QUIET_SECONDS:
        part *= max(
            0.0, 1.0 - (measured.longest_silence - QUIET_SECONDS) / (LONG_SILENCE - QUIET_SECONDS)
        )
    if measured.horizon_notes:
        part = 0.0
    return round(part, 3)


def _scale_root(tonic: str, mode: str) -> int:
    """Pitch class of the major scale a key uses (a minor key: its relative major's)."""
    return (pitch_class(tonic) + (_MINOR_TO_RELATIVE_MAJOR if mode == "minor" else 0)) % 12


def key_part(asked: Requested, measured: Features) -> float | None:
    """1 for the asked key and mode, 0.5 for its relative or its tonic in the other mode, else 0."""
    if not asked.key or not asked.mode:
        return None
    if not measured.key:
        return 0.0
    if pitch_class(asked.key) == pitch_class(measured.key) and asked.mode == measured.mode:
        return 1.0
    same_scale = _scale_root(asked.key, asked.mode) == _scale_root(measured.key, measured.mode)
    return 0.5 if same_scale or pitch_class(asked.key) == pitch_class(measured.key) else 0.0


def rank(piece: Piece, asked: Requested) -> Ranking:
    """Score one candidate against what its words ask (see the module docstring)."""
    measured = features(piece)
    met = adherence(asked, measured)
    parts: dict[str, float] = {}
    why: list[str] = []
    key = key_part(asked, measured)
    if key is not None:
        parts["key"] = key
        why.append(
            f"{measured.key} {measured.mode}" + (" ✓" if key == 1 else " ~" if key else " ✗")
        )
    if met.instruments_asked:
        precision = (
            met.instruments_matched / met.instruments_played if met.instruments_played else 0.0
        )
        recall = met.instruments_matched / met.instruments_asked
        parts["instruments"] = (
            round(2 * precision * recall / (precision + recall), 3)
            if met.instruments_matched
            else 0.0
        )
        extra = met.instruments_played - met.instruments_matched
        why.append(
            f"{met.instruments_matched}/{met.instruments_asked} instr"
            + (f" +{extra}" if extra else "")
        )
    if met.tempo is not None:
        parts["tempo"] = float(met.tempo)
        why.append(f"{round(measured.tempo_bpm)} bpm" + (" ✓" if met.tempo else " ✗"))
    if met.time_signature is not None:
        parts["meter"] = float(met.time_signature)
        why.append(measured.time_signature + (" ✓" if met.time_signature else " ✗"))
    parts["music"] = music_part(musicality(piece, measured.tempo_bpm, standard=False))
    if parts["music"] < 1:
        why.append(f"music {parts['music']:.2f}")
    score = round(sum(parts.values()) / len(parts), 3)
    return Ranking(score, parts, ", ".join(why))


def best(pieces: list[Piece], asked: Requested, keep: int) -> list[tuple[int, Ranking]]:
    """The ``keep`` best (index, ranking) pairs, best first; ties keep their order."""
    ranked = [(i, rank(piece, asked)) for i, piece in enumerate(pieces)]
    ranked.sort(key=lambda pair: -pair[1].score)
    return ranked[:keep]
