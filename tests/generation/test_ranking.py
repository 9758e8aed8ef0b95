"""Candidates are ordered by the documented score: the caption's key, instruments,
tempo and meter, and what is never music."""

from __future__ import annotations

from midicli.generation.ranking import best, key_part, music_part, rank
from midicli.music.analysis import features
from midicli.music.captions import parse_caption
from midicli.music.musicality import musicality
from midicli.music.piece import Note, Piece, TempoChange, TimeSignature

WORDS = (
    "A calm piece featuring piano. Set in the key of D major with a 4/4 time signature, it moves "
    "at an Andante tempo."
)
D_MAJOR = (62, 66, 69, 74, 71, 67, 64, 62)  # D F# A D B G E D
C_MINOR = (60, 63, 67, 72, 68, 65, 62, 60)


def melody(pitches, instrument=0, start=0.0, step=0.75) -> list[Note]:
    """Eight bars of the pitches in turn, one every ``step`` seconds (80 bpm)."""
    return [Note(start + i * step, step, pitches[i % len(pitches)], instrument) for i in range(64)]


def piece(notes) -> Piece:
    return Piece(notes, [TempoChange(0.0, 80.0)], [TimeSignature(0.0, 4, 4)])


def test_the_asked_key_on_the_asked_instrument_ranks_first():
    right = piece(melody(D_MAJOR))
    wrong_key = piece(melody(C_MINOR))
    wrong_instrument = piece(melody(D_MAJOR, instrument=40))
    order = best([wrong_key, wrong_instrument, right], parse_caption(WORDS), keep=3)
    assert [i for i, _ in order] == [2, 0, 1]  # one part missed each: a tie, kept in drawing order
    assert order[1][1].score == order[2][1].score == 0.8
    top = order[0][1]
    assert top.parts == {"key": 1.0, "instruments": 1.0, "tempo": 1.0, "meter": 1.0, "music": 1.0}
    assert top.score == 1.0 and "D major ✓" in top.why
    assert order[1][1].parts["key"] == 0.0 and order[2][1].parts["instruments"] == 0.0


def test_the_score_is_the_mean_of_the_parts_the_caption_asks_for():
    ranked = rank(piece(melody(D_MAJOR)), parse_caption("Set in the key of D major."))
    assert set(ranked.parts) == {"key", "music"} and ranked.score == 1.0
    plain = rank(piece(melody(C_MINOR)), parse_caption("Some music."))
    assert plain.parts == {"music": 1.0}


def test_the_relative_key_earns_half():
    asked = parse_caption("Set in the key of B minor.")
    assert key_part(asked, features(piece(melody(D_MAJOR)))) == 0.5


def test_broken_music_costs_its_share():
    doubled = melody(D_MAJOR) + melody(D_MAJOR)[:16]  # 16 of 80 notes doubled
    silent = melody(D_MAJOR)[:8] + melody(D_MAJOR, start=16.0)  # 10 s of silence inside
    assert music_part(musicality(piece(doubled), 80, standard=False)) == 0.8
    assert music_part(musicality(piece(silent), 80, standard=False)) < 0.2
    clean = rank(piece(melody(D_MAJOR)), parse_caption(WORDS))
    assert rank(piece(doubled), parse_caption(WORDS)).score < clean.score


def test_keep_takes_the_best_and_ties_keep_the_drawing_order():
    same = [piece(melody(D_MAJOR)), piece(melody(D_MAJOR)), piece(melody(C_MINOR))]
    assert [i for i, _ in best(same, parse_caption(WORDS), keep=2)] == [0, 1]


def test_the_leans_name_what_the_words_ask_and_nothing_else():
    from midicli.generation.guidance import instrument_lean, key_lean

    lean = key_lean("Set in the key of D major.", 2.0)
    assert (
        max(range(12), key=lambda pc: lean[pc]) == 2 and lean[3] < 0
    )  # D most, Eb (out of the scale) pushed down
    assert (
        key_lean("Some music.", 2.0) is None and key_lean("Set in the key of D major.", 0.0) is None
    )
    band = instrument_lean("A trio featuring piano, violin and drums.", 2.0)
    assert [i for i in range(129) if band[i] == 0.0] == [
        0,
        1,
        40,
        128,
    ]  # either acoustic piano counts as piano
    assert set(band) == {0.0, -2.0} and instrument_lean("A waltz.", 2.0) is None
