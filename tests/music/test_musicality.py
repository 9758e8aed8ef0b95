"""What a listener hears as broken, measured on pieces built note by note, and the
standard measures from MusPy on a real chorale."""

from __future__ import annotations

import pytest
from support import AMT_FIXTURES

from midicli.music.midi_io import read_midi
from midicli.music.musicality import (
    duplicate_notes,
    horizon_notes,
    largest_cluster,
    longest_silence,
    musicality,
)
from midicli.music.piece import Note, Piece


def test_a_doubled_note_is_the_same_instrument_pitch_and_instant():
    notes = [
        Note(1.0, 0.5, 60),
        Note(1.004, 0.3, 60),
        Note(1.0, 0.5, 60, instrument=40),
        Note(1.5, 0.5, 60),
    ]
    assert duplicate_notes(notes) == 1  # the violin and the later C4 are not doublings


def test_clusters_count_onsets_at_one_instant_in_all_and_per_instrument():
    chord = [Note(2.0, 1.0, p) for p in (60, 64, 67)] + [Note(2.0, 1.0, 48, instrument=42)]
    assert largest_cluster(chord) == 4
    assert largest_cluster(chord, per_instrument=True) == 3


def test_the_longest_silence_lies_between_sounding_notes_only():
    notes = [
        Note(5.0, 2.0, 60),
        Note(6.0, 4.0, 64),
        Note(13.5, 1.0, 67),
    ]  # sounds 5–10, silent 10–13.5
    assert longest_silence(notes) == pytest.approx(3.5)
    assert longest_silence([Note(0.0, 1.0, 60)]) == 0.0


def test_notes_at_the_horizon_are_those_at_99_99_seconds():
    assert horizon_notes([Note(99.99, 0.0, 60), Note(99.99, 0.5, 62), Note(99.97, 0.1, 64)]) == 2


def test_a_real_chorale_is_music_by_every_measure():
    piece = read_midi(AMT_FIXTURES / "bach_bwv66_6.mid")
    heard = musicality(piece, bpm=96)
    assert heard.largest_chord <= 4 and heard.longest_silence < 1 and heard.horizon_notes == 0
    assert (
        heard.scale_consistency > 0.9 and heard.groove_consistency > 0.9
    )  # MusPy's, on a beat grid
    assert 2.5 < heard.pitch_class_entropy < 3.3 and heard.empty_beat_rate == 0.0


def test_a_random_pitch_soup_scores_worse_than_the_chorale():
    soup = Piece([Note(i * 0.37, 0.2, 40 + (i * 7919) % 48) for i in range(160)])
    chorale = musicality(read_midi(AMT_FIXTURES / "bach_bwv66_6.mid"), bpm=96)
    heard = musicality(soup, bpm=96)
    assert heard.scale_consistency < chorale.scale_consistency
    assert heard.pitch_class_entropy > chorale.pitch_class_entropy


def test_without_standard_measures_only_ours_are_taken():
    heard = musicality(Piece([Note(0.0, 1.0, 60)]), bpm=120, standard=False)
    assert heard.notes == 1 and heard.scale_consistency is None
