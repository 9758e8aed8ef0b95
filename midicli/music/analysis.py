"""Measured musical features of a piece: what a caption says and what ``eval`` checks.

Instruments, length, density and register come straight from the notes. Tempo and
meter come from the file when it declares them (the one that rules longest), else
they are estimated from the onsets, because generated music declares neither. The key
is music21's Krumhansl-Schmuckler estimate over the duration-weighted pitch classes.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from midicli.errors import MidicliError
from midicli.music.meter import estimate_bpm
from midicli.music.piece import Note, Piece

# MidiCaps' tempo words: a word applies above its lower bound, up to the next one.
TEMPO_WORDS: tuple[tuple[float, str], ...] = (
    (0.0, "Grave"),
    (40.0, "Largo"),
    (60.0, "Adagio"),
    (70.0, "Andante"),
    (90.0, "Moderato"),
    (110.0, "Allegro"),
    (140.0, "Vivace"),
    (160.0, "Presto"),
    (210.0, "Prestissimo"),
)
# Italian words MidiCaps' captions also use: its pipeline picked one of TEMPO_WORDS by bpm,
# but a language model then wrote the captions and reached for these too. Each is read
# as a bpm range (low, high] on the same scale; captions we write keep to TEMPO_WORDS.
MORE_TEMPO_WORDS: dict[str, tuple[float, float]] = {
    "Larghissimo": (0.0, 40.0),
    "Lento": (40.0, 60.0),
    "Larghetto": (60.0, 70.0),
    "Adagietto": (70.0, 80.0),
    "Andantino": (80.0, 100.0),
    "Allegretto": (100.0, 120.0),
    "Vivacissimo": (160.0, 210.0),
}
# MidiCaps' plain words for the same thing (its captions use either kind).
PLAIN_TEMPO_WORDS: tuple[tuple[float, str], ...] = (
    (0.0, "slow"),
    (80.0, "moderate"),
    (120.0, "fast"),
    (160.0, "very fast"),
)
# MidiCaps' length words, by seconds.
LENGTH_WORDS: tuple[tuple[float, str], ...] = (
    (0.0, "short fragment"),
    (30.0, "short song"),
    (120.0, "song"),
    (300.0, "long piece"),
)
DENSITY_WORDS: tuple[tuple[float, str], ...] = (
    (0.0, "sparse"),
    (4.0, "moderately dense"),
    (10.0, "dense"),
)  # notes per second
REGISTER_WORDS: tuple[tuple[float, str], ...] = (
    (0.0, "low"),
    (55.0, "middle"),
    (72.0, "high"),
)  # mean MIDI pitch

ACCENT_TOLERANCE = 0.125  # an onset within an eighth of a beat of a beat counts for it
# A 3-beat accent must be this strong, and this much clearer than a 2-beat one, to
# call the meter triple: an estimated tempo off by 3:2 fakes weaker ones (measured on
# a sample of music21's corpus: 9 of 12 triple-meter pieces found, 4 of about 200 duple ones
# mistaken).
TRIPLE_ACCENT = 0.5
TRIPLE_MARGIN = 0.3


@dataclass(frozen=True)
class Features:
    """What a listener could check about a piece, measured from its notes."""

    instruments: tuple[int, ...]  # GM programs present, 128 = drums, most notes first
    key: str  # tonic name, e.g. "D", "F#", "Bb"; "" when no pitched notes
    mode: str  # "major" | "minor" | ""
    tempo_bpm: float  # the file's tempo when it declares one, else estimated
    tempo_word: str  # MidiCaps' Italian word for tempo_bpm: Grave … Prestissimo
    time_signature: str  # e.g. "3/4": the file's, else estimated (3/4 or 4/4)
    duration: float  # seconds
    length_word: str  # MidiCaps' "short fragment" | "short song" | "song" | "long piece"
    notes_per_second: float
    density_word: str  # "sparse" | "moderately dense" | "dense"
    mean_pitch: float  # of pitched notes; 0 when none
    register_word: str  # "low" | "middle" | "high" | ""
    polyphony: float  # mean number of notes sounding while any sounds
    pitch_classes: tuple[float, ...]  # 12 duration-weighted shares (C first) summing to 1, or all 0
    tempo_declared: bool  # tempo_bpm came from the file
    meter_declared: bool  # time_signature came from the file

    @property
    def beats_per_bar(self) -> int:
        return int(self.time_signature.split("/")[0])


W = TypeVar("W")


def word_for(value: float, scale: Sequence[tuple[float, W]]) -> W:
    """The word of the last step whose lower bound ``value`` exceeds (the first step from 0)."""
    return scale[max(bisect_left([bound for bound, _ in scale], value) - 1, 0)][1]


def tempo_range(word: str) -> tuple[float, float]:
    """The bpm range (low, high] a tempo word stands for, in whichever scale it belongs to."""
    if word in MORE_TEMPO_WORDS:
        return MORE_TEMPO_WORDS[word]
    for scale in (TEMPO_WORDS, PLAIN_TEMPO_WORDS):
        words = [w for _, w in scale]
        if word in words:
            i = words.index(word)
            return scale[i][0], scale[i + 1][0] if i + 1 < len(scale) else math.inf
    raise ValueError(f"not a tempo word: {word!r}")


def features(piece: Piece) -> Features:
    """Measure a piece. Only the key needs music21 (the ``render`` extra)."""
    notes = piece.notes
    pitched = [n for n in notes if not n.is_drum]
    duration = piece.duration
    bpm, tempo_declared = _tempo(piece)
    signature, meter_declared = _time_signature(piece, bpm)
    shares = pitch_class_shares(pitched)
    key, mode = estimate_key(shares)
    mean_pitch = sum(n.pitch for n in pitched) / len(pitched) if pitched else 0.0
    density = len(notes) / duration if duration > 0 else 0.0
    return Features(
        instruments=_by_note_count(notes),
        key=key,
        mode=mode,
        tempo_bpm=round(bpm, 2),
        tempo_word=word_for(bpm, TEMPO_WORDS),
        time_signature=signature,
        duration=round(duration, 3),
        length_word=word_for(duration, LENGTH_WORDS),
        notes_per_second=round(density, 3),
        density_word=word_for(density, DENSITY_WORDS),
        mean_pitch=round(mean_pitch, 2),
        register_word=word_for(mean_pitch, REGISTER_WORDS) if pitched else "",
        polyphony=round(polyphony(notes), 3),
        pitch_classes=tuple(round(s, 4) for s in shares),
        tempo_declared=tempo_declared,
        meter_declared=meter_declared,
    )


def _by_note_count(notes: list[Note]) -> tuple[int, ...]:
    counts = Counter(n.instrument for n in notes)  # insertion order breaks ties: first heard first
    return tuple(instrument for instrument, _ in counts.most_common())


def _longest_ruling(times: list[float], end: float) -> int:
    """Index of the declaration (sorted start times) in force for the most of [0, end]."""
    spans = [
        min(end, following) - max(start, 0.0)
        for start, following in zip(times, [*times[1:], math.inf])
    ]
    return max(range(len(times)), key=lambda i: spans[i])


def _tempo(piece: Piece) -> tuple[float, bool]:
    tempos = sorted(piece.tempos, key=lambda t: t.time)
    if tempos:
        return tempos[_longest_ruling([t.time for t in tempos], piece.duration)].bpm, True
    return estimate_bpm([n.onset for n in piece.notes]), False


def _time_signature(piece: Piece, bpm: float) -> tuple[str, bool]:
    signatures = sorted(piece.time_signatures, key=lambda s: s.time)
    if signatures:
        ruling = signatures[_longest_ruling([s.time for s in signatures], piece.duration)]
        return f"{ruling.numerator}/{ruling.denominator}", True
    return estimate_time_signature(piece.notes, bpm), False


def estimate_time_signature(notes: Sequence[Note], bpm: float) -> str:
    """ "3/4" when the notes clearly accent every third beat, else "4/4" (most music).

    A beat's accent is the total length (in beats, at most four) of the notes that
    start on it: long notes fall on strong beats. For groups of 2 and 3 beats, the
    best-aligned downbeat's mean accent is compared with the mean of all beats.
    """
    period = 60.0 / bpm
    accents: dict[int, float] = {}
    for note in notes:
        beat = note.onset / period
        nearest = round(beat)
        if abs(beat - nearest) <= ACCENT_TOLERANCE:
            accents[nearest] = accents.get(nearest, 0.0) + min(note.duration / period, 4.0)
    if len(accents) < 8:
        return "4/4"
    beats = range(min(accents), max(accents) + 1)
    strengths = [accents.get(b, 0.0) for b in beats]
    mean = sum(strengths) / len(strengths)

    def contrast(group: int) -> float:
        best = max(
            sum(strengths[phase::group]) / len(strengths[phase::group]) for phase in range(group)
        )
        return best / mean - 1.0

    triple = contrast(3)
    return "3/4" if triple > TRIPLE_ACCENT and triple > contrast(2) + TRIPLE_MARGIN else "4/4"


def pitch_class_shares(notes: Sequence[Note]) -> list[float]:
    """Duration-weighted pitch-class histogram of pitched notes, summing to 1 (all 0 without
    notes)."""
    weights = [0.0] * 12
    for note in notes:
        if not note.is_drum:
            weights[note.pitch % 12] += max(
                note.duration, 0.01
            )  # a zero-length note still sounds its pitch
    total = sum(weights)
    return [w / total for w in weights] if total else weights


def estimate_key(shares: Sequence[float]) -> tuple[str, str]:
    """(tonic, mode) by music21's Krumhansl-Schmuckler analysis of a pitch-class histogram.

    music21 reads a stream of up to 12 notes, one per pitch class with a length
    proportional to its share, which is exactly the histogram it would build itself.
    """
    if not any(shares):
        return "", ""
    try:
        from music21 import note, stream
        from music21.analysis.discrete import KrumhanslSchmuckler
    except ImportError:
        raise MidicliError("key analysis needs music21: pip install 'midicli[render]'") from None

    histogram = stream.Stream()
    for pitch_class, share in enumerate(shares):
        if share > 0:
            sounding = note.Note(60 + pitch_class)
            sounding.quarterLength = max(
                round(share * 480) / 4, 0.25
            )  # music21 keeps quarter multiples exact
            histogram.append(sounding)
    solution = KrumhanslSchmuckler().getSolution(histogram)
    return solution.tonic.name.replace("-", "b"), solution.mode


def polyphony(notes: Sequence[Note]) -> float:
    """Mean count of sounding notes over the time when at least one sounds."""
    events = sorted(
        [(n.onset, 1) for n in notes if n.duration > 0]
        + [(n.end, -1) for n in notes if n.duration > 0]
    )
    sounding, weighted, covered, previous = 0, 0.0, 0.0, 0.0
    for time, change in events:
        if sounding:
            weighted += sounding * (time - previous)
            covered += time - previous
        sounding += change
        previous = time
    return weighted / covered if covered else (1.0 if notes else 0.0)
