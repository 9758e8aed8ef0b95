"""What `midicli caption` measures in a piece: the facts a listener could check."""

from __future__ import annotations

import pytest
from support import AMT_FIXTURES

from midicli.music.analysis import (
    PLAIN_TEMPO_WORDS,
    TEMPO_WORDS,
    estimate_time_signature,
    features,
    polyphony,
    tempo_range,
    word_for,
)
from midicli.music.midi_io import read_midi
from midicli.music.piece import Note, Piece, TempoChange, TimeSignature


def test_a_bach_chorale_measures_as_written() -> None:
    chorale = features(read_midi(AMT_FIXTURES / "bach_bwv66_6.mid"))
    assert (chorale.key, chorale.mode) == ("F#", "minor")  # music21's answer for BWV 66.6
    assert chorale.instruments == (0,)
    assert (chorale.tempo_bpm, chorale.tempo_word, chorale.tempo_declared) == (
        96.0,
        "Moderato",
        True,
    )
    assert (chorale.time_signature, chorale.meter_declared) == ("4/4", True)
    assert chorale.duration == pytest.approx(22.5)
    assert chorale.length_word == "short fragment"
    assert chorale.polyphony == pytest.approx(4.0, abs=0.1)  # four voices
    assert (chorale.density_word, chorale.register_word) == ("moderately dense", "middle")
    assert sum(chorale.pitch_classes) == pytest.approx(1.0, abs=1e-3)


def test_a_rag_keeps_its_declared_two_four_and_key() -> None:
    rag = features(read_midi(AMT_FIXTURES / "joplin_maple_leaf.mid"))
    assert (rag.key, rag.mode, rag.time_signature) == ("Ab", "major", "2/4")
    assert rag.density_word == "dense"


def test_the_tempo_in_force_longest_is_the_pieces_tempo() -> None:
    # 120 bpm for 2 s, then 200 bpm for the last 1.2 s
    drums = features(read_midi(AMT_FIXTURES / "edge_drums_tempo_change.mid"))
    assert (drums.tempo_bpm, drums.tempo_word) == (120.0, "Allegro")


def test_instruments_are_listed_most_notes_first() -> None:
    notes = (
        [Note(i * 0.5, 0.4, 60, 40) for i in range(3)]
        + [Note(i * 0.25, 0.2, 36, 128) for i in range(8)]
        + [Note(0, 1, 48, 0)]
    )
    assert features(Piece(notes)).instruments == (128, 40, 0)


def test_a_long_song_with_many_instruments() -> None:
    song = features(read_midi(AMT_FIXTURES / "strawberry.mid"))
    assert len(song.instruments) == 13 and song.instruments[0] == 128
    assert song.length_word == "song"


def _waltz(bars: int) -> list[Note]:
    """Oom-pah-pah at 120 bpm: a long bass and melody note on one, short chords on two and three."""
    notes = []
    for bar in range(bars):
        one = bar * 1.5
        notes += [Note(one, 1.4, 48), Note(one, 0.9, 72)]
        notes += [Note(one + beat * 0.5, 0.3, pitch) for beat in (1, 2) for pitch in (64, 67)]
    return notes


def _march(bars: int) -> list[Note]:
    """Bass on one and three, chords on two and four, at 120 bpm."""
    notes = []
    for bar in range(bars):
        one = bar * 2.0
        notes += [Note(one + beat * 0.5, 0.9, 48) for beat in (0, 2)]
        notes += [Note(one + beat * 0.5, 0.3, pitch) for beat in (1, 3) for pitch in (64, 67)]
    return notes


def test_meter_is_estimated_when_the_file_declares_none() -> None:
    waltz = features(Piece(_waltz(16)))
    assert (waltz.time_signature, waltz.meter_declared, waltz.tempo_declared) == (
        "3/4",
        False,
        False,
    )
    assert waltz.tempo_bpm == pytest.approx(120, abs=2)
    assert features(Piece(_march(16))).time_signature == "4/4"
    assert (
        estimate_time_signature(_waltz(2)[:3], 120) == "4/4"
    )  # too little to tell: the common meter


def test_a_declared_meter_beats_the_estimate() -> None:
    piece = Piece(_waltz(16), [TempoChange(0, 120)], [TimeSignature(0, 6, 8)])
    assert features(piece).time_signature == "6/8"


@pytest.mark.parametrize(
    ("pitches", "key"),
    [
        ((60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60), ("C", "major")),
        ((57, 59, 60, 62, 64, 65, 68, 69, 64, 60, 57), ("A", "minor")),
        ((63, 65, 67, 68, 70, 72, 74, 75, 70, 67, 63), ("Eb", "major")),
    ],
    ids=["C major scale", "A harmonic minor", "E-flat major"],
)
def test_the_key_comes_from_the_pitches(pitches: tuple[int, ...], key: tuple[str, str]) -> None:
    notes = [Note(i * 0.5, 1.0 if p == pitches[0] else 0.5, p) for i, p in enumerate(pitches)]
    measured = features(Piece(notes))
    assert (measured.key, measured.mode) == key


def test_drums_alone_have_no_key_or_register() -> None:
    beat = features(Piece([Note(i * 0.25, 0.1, 36 + i % 3, 128) for i in range(32)]))
    assert (beat.key, beat.mode, beat.register_word) == ("", "", "")
    assert beat.pitch_classes == (0.0,) * 12


def test_polyphony_counts_notes_sounding_together() -> None:
    chord_then_note = [Note(0, 1, 60), Note(0, 1, 64), Note(0, 1, 67), Note(1, 1, 72)]
    assert polyphony(chord_then_note) == pytest.approx(2.0)  # 3 for a second, then 1 for a second
    assert polyphony([]) == 0.0


@pytest.mark.parametrize(
    ("bpm", "word"),
    [
        (40, "Grave"),
        (41, "Largo"),
        (60, "Largo"),
        (61, "Adagio"),
        (96, "Moderato"),
        (120, "Allegro"),
        (200, "Presto"),
        (240, "Prestissimo"),
    ],
)
def test_tempo_words_follow_midicaps(bpm: float, word: str) -> None:
    assert word_for(bpm, TEMPO_WORDS) == word
    low, high = tempo_range(word)
    assert low < bpm <= high


def test_plain_tempo_words_have_ranges_too() -> None:
    assert word_for(150, PLAIN_TEMPO_WORDS) == "fast"
    assert tempo_range("fast") == (120.0, 160.0)
    with pytest.raises(ValueError):
        tempo_range("brisk")
