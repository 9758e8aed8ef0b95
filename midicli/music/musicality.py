"""What a listener hears as broken or as music, measured from the notes.

Two kinds of figures. Our own flag what is never music and what the grammar forbids
(a note doubled on the same instrument, pitch and onset; a pile of onsets at one
instant; a long silence inside the piece; notes stacked at AMT's 99.99 s horizon).
The established symbolic-music measures (pitch-class entropy, scale consistency,
groove consistency, empty-beat rate, polyphony, as defined by MuseGAN and the Jazz
Transformer papers) come from MusPy, the reference implementation, when installed
(the ``eval`` extra): they are not written again here.
"""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from midicli.music.piece import Note, Piece

INSTANT = 0.01  # seconds: AMT's time step; onsets closer than this are one instant
HORIZON = 99.99  # seconds: AMT's last arrival time, where a saturated model piles notes
LARGE_CLUSTER = 12  # notes starting at one instant that make a "large cluster"
LONG_SILENCE = 10.0  # seconds of silence inside a piece that no real piece in our sets has
BEAT_RESOLUTION = 12  # MusPy time steps per beat: sixteenths and triplets fall on steps


@dataclass(frozen=True)
class Musicality:
    """One piece's figures; the standard ones are None without MusPy (or without notes)."""

    notes: int
    duplicate_notes: int  # notes repeating an earlier one's instrument, pitch and onset
    largest_cluster: int  # most notes starting at one instant
    largest_chord: int  # most notes of one instrument starting at one instant
    longest_silence: float  # seconds, between the first onset and the last note's end
    horizon_notes: int  # notes starting at AMT's 99.99 s horizon
    pitch_class_entropy: float | None = None
    scale_consistency: float | None = None
    groove_consistency: float | None = None
    empty_beat_rate: float | None = None
    polyphony: float | None = None  # MusPy's: mean pitches sounding per time step with any

    @property
    def duplicate_share(self) -> float:
        return self.duplicate_notes / self.notes if self.notes else 0.0


def _instant(seconds: float) -> int:
    return round(seconds / INSTANT)


def duplicate_notes(notes: Sequence[Note]) -> int:
    """Notes whose (instrument, pitch, onset instant) an earlier note already has."""
    counts = Counter((n.instrument, n.pitch, _instant(n.onset)) for n in notes)
    return sum(count - 1 for count in counts.values())


def largest_cluster(notes: Sequence[Note], per_instrument: bool = False) -> int:
    """Most notes starting at one instant (of one instrument, with ``per_instrument``)."""
    keys = Counter((n.instrument if per_instrument else 0, _instant(n.onset)) for n in notes)
    return max(keys.values(), default=0)


def longest_silence(notes: Sequence[Note]) -> float:
    """The longest stretch with nothing sounding between the first onset and the last end."""
    longest, sounding_until = 0.0, None
    for note in sorted(notes, key=lambda n: n.onset):
        if sounding_until is not None and note.onset > sounding_until:
            longest = max(longest, note.onset - sounding_until)
        sounding_until = note.end if sounding_until is None else max(sounding_until, note.end)
    return round(longest, 3)


def horizon_notes(notes: Sequence[Note]) -> int:
    """Notes starting at the first window's horizon (99.99 s, within one instant)."""
    return sum(1 for n in notes if abs(n.onset - HORIZON) < INSTANT / 2 + 1e-9)


def musicality(
    piece: Piece, bpm: float, beats_per_bar: int = 4, standard: bool = True
) -> Musicality:
    """Measure a piece whose beat is ``bpm`` (the declared or estimated tempo); only our
    own figures without ``standard`` (ranking needs no more, and MusPy takes longer)."""
    notes = piece.notes
    ours = dict(
        notes=len(notes),
        duplicate_notes=duplicate_notes(notes),
        largest_cluster=largest_cluster(notes),
        largest_chord=largest_cluster(notes, per_instrument=True),
        longest_silence=longest_silence(notes),
        horizon_notes=horizon_notes(notes),
    )
    return Musicality(**ours, **(_standard(notes, bpm, beats_per_bar) if standard else {}))


def _standard(notes: Sequence[Note], bpm: float, beats_per_bar: int) -> dict[str, float | None]:
    """MusPy's measures on the notes laid on a beat grid; {} without MusPy or notes."""
    if not notes or bpm <= 0:
        return {}
    try:
        # MusPy imports pretty_midi, which imports pyfluidsynth: that prints where it
        # found its library when $CI is set, and stdout may be the user's JSON
        with contextlib.redirect_stdout(io.StringIO()):
            import muspy
    except ImportError:
        return {}
    steps_per_second = bpm / 60.0 * BEAT_RESOLUTION
    tracks: dict[tuple[int, bool], list] = {}
    for note in notes:
        start = round(note.onset * steps_per_second)
        length = max(1, round(note.duration * steps_per_second))
        tracks.setdefault((note.instrument, note.is_drum), []).append(
            muspy.Note(time=start, pitch=note.pitch, duration=length, velocity=note.velocity)
        )
    music = muspy.Music(
        resolution=BEAT_RESOLUTION,
        tracks=[
            muspy.Track(program=0 if drum else instrument, is_drum=drum, notes=track)
            for (instrument, drum), track in tracks.items()
        ],
    )

    def figure(value: float) -> float | None:
        return None if value != value else round(float(value), 4)  # NaN: nothing to measure

    return dict(
        pitch_class_entropy=figure(muspy.pitch_class_entropy(music)),
        scale_consistency=figure(muspy.scale_consistency(music)),
        groove_consistency=figure(muspy.groove_consistency(music, beats_per_bar * BEAT_RESOLUTION)),
        empty_beat_rate=figure(muspy.empty_beat_rate(music)),
        polyphony=figure(muspy.polyphony(music)),
    )
