"""Users speak in bars and beats; the model speaks in seconds."""

from __future__ import annotations

import pytest

from midicli.errors import GenerationError
from midicli.music.meter import Meter, estimate_bpm, parse_length, parse_time
from midicli.music.piece import Note, Piece, TempoChange, TimeSignature


def test_bars_follow_the_declared_tempo_map_and_meter() -> None:
    # 3/4 at 60 bpm for 4 s, then 120 bpm; 2/4 from 5 s (bar 3) on
    piece = Piece(
        [Note(0, 1, 60)],
        [TempoChange(0, 60), TempoChange(4, 120)],
        [TimeSignature(0, 3, 4), TimeSignature(5, 2, 4)],
    )
    assert [parse_time(f"{bar}b", piece) for bar in (1, 2, 3, 4, 5)] == [0.0, 3.0, 5.0, 6.0, 7.0]
    assert parse_time("2:3", piece) == 4.5  # beat 5 overall: 4 beats at 60 bpm, then one at 120
    assert parse_time("12.5", piece) == parse_time("12.5s", piece) == 12.5


def test_a_piece_without_a_declared_tempo_gets_one_from_its_notes() -> None:
    onsets = [i * 0.6 for i in range(32)]  # quarter notes at 100 bpm
    assert estimate_bpm(onsets) == pytest.approx(100, abs=1)
    piece = Piece([Note(t, 0.5, 60) for t in onsets])
    assert Meter.of(piece).tempos[0].bpm == pytest.approx(100, abs=1)
    assert parse_time("3b", piece) == pytest.approx(2 * 4 * 0.6, abs=0.05)


def test_lengths_in_bars_count_from_where_they_start() -> None:
    piece = Piece([Note(0, 1, 60)], [TempoChange(0, 120)], [TimeSignature(0, 4, 4)])
    assert parse_length("8b", piece, start=3.0) == pytest.approx(16.0)
    assert parse_length("20", piece, start=3.0) == 20.0


@pytest.mark.parametrize("spec", ["bar nine", "-2", "9x", "0b", "3:0"])
def test_unreadable_times_say_what_forms_work(spec: str) -> None:
    piece = Piece([Note(0, 1, 60)])
    with pytest.raises(GenerationError, match="bar|cannot read"):
        parse_time(spec, piece)


@pytest.mark.parametrize("spec", ["-3", "0", "eight bars"])
def test_bad_lengths_are_refused(spec: str) -> None:
    with pytest.raises(GenerationError):
        parse_length(spec, Piece([Note(0, 1, 60)]), start=0.0)
