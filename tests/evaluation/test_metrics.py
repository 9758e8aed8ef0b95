"""The figures of `midicli eval`: one piece against what its prompt asked, then a column."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support import AMT_FIXTURES, FIXTURE_MIDIS

from midicli.evaluation.metrics import (
    adherence,
    instrument_kind,
    meter_class,
    pitch_class,
    pitch_class_distance,
    score,
    summarize,
)
from midicli.music.analysis import Features, features
from midicli.music.captions import Requested, caption, parse_caption
from midicli.music.midi_io import read_midi


@pytest.fixture(scope="module")
def chorale() -> Features:
    return features(read_midi(AMT_FIXTURES / "bach_bwv66_6.mid"))


def test_real_pieces_meet_their_own_captions_perfectly() -> None:
    scores = []
    for path in FIXTURE_MIDIS:
        measured = features(read_midi(path))
        scores.append(score(parse_caption(caption(measured)), measured, measured))
    column = summarize(scores)
    assert column.pieces == len(FIXTURE_MIDIS)
    rates = (
        column.validity,
        column.key_accuracy,
        column.mode_accuracy,
        column.instrument_precision,
        column.instrument_recall,
        column.tempo_agreement,
        column.time_signature_agreement,
    )
    assert rates == (1.0,) * 7
    assert column.pitch_class_distance == 0.0


def test_another_piece_misses_the_chorales_caption(chorale: Features) -> None:
    rag = features(read_midi(AMT_FIXTURES / "joplin_maple_leaf.mid"))
    judged = adherence(parse_caption(caption(chorale)), rag)
    assert (judged.key, judged.mode, judged.tempo, judged.time_signature) == (
        False,
        False,
        False,
        False,
    )
    assert (judged.instruments_asked, judged.instruments_played, judged.instruments_matched) == (
        1,
        1,
        1,
    )  # both piano
    assert pitch_class_distance(rag.pitch_classes, chorale.pitch_classes) > 0.3


def test_enharmonic_keys_are_the_same_key(chorale: Features) -> None:
    assert pitch_class("Db") == pitch_class("C#") == 1 and pitch_class("Cb") == 11
    judged = adherence(Requested(key="Gb", mode="minor"), chorale)  # measured F# minor
    assert (judged.key, judged.mode) == (True, True)
    assert adherence(Requested(key="F#", mode="major"), chorale).key is False


def test_instruments_count_by_what_a_listener_hears(chorale: Features) -> None:
    assert instrument_kind(24) == instrument_kind(25) == "Acoustic Guitar"
    assert instrument_kind(0) == instrument_kind(1) == "Piano"
    assert (
        instrument_kind(36) == "Slap Bass"
        and instrument_kind(128) == "Drums"
        and instrument_kind(40) == "Violin"
    )
    played = replace(chorale, instruments=(1, 42, 24))  # bright piano, cello, nylon guitar
    judged = adherence(Requested(instruments=(0, 40, 25)), played)  # piano, violin, steel guitar
    assert (judged.instruments_asked, judged.instruments_played, judged.instruments_matched) == (
        3,
        3,
        2,
    )
    column = summarize([score(Requested(instruments=(0, 40, 25)), played, None)])
    assert column.instrument_precision == column.instrument_recall == pytest.approx(2 / 3)


def test_tempo_words_agree_by_range(chorale: Features) -> None:
    at = lambda bpm: replace(chorale, tempo_bpm=bpm)  # noqa: E731
    assert adherence(Requested(tempo_word="Moderato"), at(96)).tempo is True
    assert adherence(Requested(tempo_word="Allegro"), at(96)).tempo is False
    assert adherence(Requested(tempo_word="fast"), at(150)).tempo is True
    assert adherence(Requested(tempo_word="slow"), at(150)).tempo is False
    assert (
        adherence(Requested(tempo_word="Lento"), at(50)).tempo is True
    )  # MidiCaps' captions use more words than its nine
    assert adherence(Requested(tempo_word="Lento"), at(96)).tempo is False


def test_an_ensemble_counts_as_each_of_its_instruments(chorale: Features) -> None:
    quartet = adherence(parse_caption("A string quartet."), chorale)
    assert quartet.instruments_asked == 3


def test_an_estimated_meter_only_tells_duple_from_triple(chorale: Features) -> None:
    assert [meter_class(s) for s in ("2/4", "4/4", "6/8", "12/8", "3/4", "3/8", "9/8")] == [
        "duple"
    ] * 4 + ["triple"] * 3
    estimated = replace(chorale, time_signature="4/4", meter_declared=False)
    assert adherence(Requested(time_signature="2/4"), estimated).time_signature is True
    assert adherence(Requested(time_signature="3/4"), estimated).time_signature is False
    declared = replace(chorale, time_signature="2/4", meter_declared=True)
    assert adherence(Requested(time_signature="4/4"), declared).time_signature is False


def test_what_a_prompt_does_not_ask_is_not_counted(chorale: Features) -> None:
    judged = adherence(Requested(), chorale)
    assert (judged.key, judged.mode, judged.tempo, judged.time_signature) == (
        None,
        None,
        None,
        None,
    )
    asked_nothing = score(Requested(), chorale, None)
    asked_piano = score(Requested(instruments=(0,), key="F#", mode="minor"), chorale, None)
    column = summarize([asked_nothing, asked_piano])
    assert (column.instrument_precision, column.key_accuracy, column.tempo_agreement) == (
        1.0,
        1.0,
        None,
    )


def test_invalid_outputs_lower_validity_only(chorale: Features) -> None:
    asked = parse_caption(caption(chorale))
    column = summarize([score(asked, chorale, chorale), score(asked, None, chorale)])
    assert column.pieces == 2 and column.validity == 0.5
    assert column.key_accuracy == 1.0 and column.notes_per_second == chorale.notes_per_second
    empty = summarize([])
    assert (empty.pieces, empty.validity, empty.key_accuracy, empty.polyphony) == (
        0,
        None,
        None,
        None,
    )


def test_pitch_class_distance_runs_from_same_to_disjoint() -> None:
    c, g = [1.0] + [0.0] * 11, [0.0] * 7 + [1.0] + [0.0] * 4
    assert pitch_class_distance(c, c) == 0.0
    assert pitch_class_distance(c, g) == 1.0
    assert pitch_class_distance(c, [0.5] + [0.0] * 6 + [0.5] + [0.0] * 4) == pytest.approx(0.5)
    assert pitch_class_distance(c, [0.0] * 12) is None  # drums only: no pitches to compare
