"""Training in random transpositions: the music moves and the caption's key follows,
so the key a caption names is the key the music is in."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from support import FIXTURE_MIDIS

from midicli.music.analysis import features
from midicli.music.captions import caption, parse_caption, transpose_caption
from midicli.music.midi_io import read_midi
from midicli.music.piece import Note, Piece
from midicli.tokenizers import amt
from midicli.training.sequences import Chunk, chunks, encode, span_controls
from midicli.training.transpose import transpose_music, transpose_row

PITCHED = [p for p in FIXTURE_MIDIS if features(read_midi(p)).key]


def decoded(music: list[int]) -> tuple[list[Note], list[Note]]:
    """(events, controls) of a training sequence's music ids, as notes."""
    events, controls = amt.split(music[1:])
    return amt.events_to_notes(events), amt.events_to_notes(controls, controls=True)


@pytest.mark.parametrize("path", PITCHED, ids=lambda p: p.stem)
@pytest.mark.parametrize("semitones", [-5, 3])
def test_the_moved_caption_names_the_key_the_moved_music_is_in(path: Path, semitones: int) -> None:
    piece = read_midi(path)
    chunk = chunks(piece.notes, 3 * len(piece.notes))[0]
    row = {"caption": caption(features(piece)), "music": encode(chunk)}
    moved = transpose_row(row, semitones)
    if moved is row:
        pytest.skip("a note would leave the MIDI range")
    events, _ = decoded(moved["music"])
    measured = features(Piece(events, piece.tempos, piece.time_signatures))
    asked = parse_caption(moved["caption"])
    assert (asked.key, asked.mode) == (measured.key, measured.mode)
    assert re.sub(r"key of \S+", "", moved["caption"]) == re.sub(
        r"key of \S+", "", row["caption"]
    )  # only the key changed


def test_pitched_notes_and_controls_move_and_drums_stay() -> None:
    notes = tuple(Note(i * 0.5, 0.4, 60 + i % 5, 0 if i % 2 else 128) for i in range(40))
    chunk = Chunk(0.0, notes)
    music = encode(chunk, span_controls(chunk, random.Random(0)))
    (before, before_controls), (after, after_controls) = (
        decoded(music),
        decoded(transpose_music(music, 2)),
    )
    assert before_controls and len(after_controls) == len(before_controls)
    for old, new in zip(before + before_controls, after + after_controls):
        assert new.pitch == old.pitch + (0 if old.instrument == 128 else 2)
        assert (new.onset, new.duration, new.instrument) == (
            old.onset,
            old.duration,
            old.instrument,
        )


def test_music_that_cannot_move_so_far_stays_as_it_is() -> None:
    music = encode(Chunk(0.0, (Note(0.0, 0.5, 125, 0), Note(0.5, 0.5, 60, 0))))
    assert transpose_music(music, 3) is None and transpose_music(music, 2) is not None
    row = {"caption": "A piece. Set in the key of C major.", "music": music}
    assert transpose_row(row, 3) is row and transpose_row(row, 0) is row


@pytest.mark.parametrize(
    ("text", "semitones", "moved"),
    [
        ("Set in the key of F# minor with", 1, "Set in the key of G minor with"),
        ("Set in the key of Bb major.", 2, "Set in the key of C major."),
        ("in E minor", 4, "in G# minor"),
        ("in E major", 4, "in Ab major"),
        ("a minor key piece in D major", -2, "a minor key piece in C major"),
        ("drums only, no key", 5, "drums only, no key"),
    ],
)
def test_a_key_is_renamed_as_the_key_analysis_spells_it(
    text: str, semitones: int, moved: str
) -> None:
    assert transpose_caption(text, semitones) == moved
