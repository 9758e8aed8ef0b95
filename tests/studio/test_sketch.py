"""The one-line piano roll tells candidates apart at a glance."""

from __future__ import annotations

from midicli.music.piece import Note, Piece
from midicli.studio.sketch import BLOCKS, DRUMS_ONLY, sketches


def test_a_rising_line_rises_and_silence_stays_blank() -> None:
    rising = Piece([Note(float(i), 1.0, 60 + 2 * i) for i in range(4)] + [Note(6.0, 2.0, 60)])
    [line] = sketches([rising], width=8)
    assert line == BLOCKS[0] + BLOCKS[2] + BLOCKS[5] + BLOCKS[-1] + "  " + BLOCKS[0] * 2


def test_candidates_share_one_scale_so_their_shapes_compare() -> None:
    low = Piece([Note(0.0, 4.0, 40)])
    high = Piece([Note(0.0, 2.0, 80), Note(2.0, 0.5, 36, instrument=128)])
    assert sketches([low, high], width=4) == [BLOCKS[0] * 4, BLOCKS[-1] * 2 + DRUMS_ONLY + " "]


def test_a_window_shows_only_that_stretch() -> None:
    piece = Piece(
        [Note(0.0, 1.0, 40), Note(10.0, 1.0, 72), Note(11.0, 1.0, 74), Note(13.0, 1.0, 90)]
    )
    assert sketches([piece], window=(10.0, 12.0), width=4) == [BLOCKS[0] * 2 + BLOCKS[-1] * 2]
