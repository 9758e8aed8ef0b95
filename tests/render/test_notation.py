"""Notation: MusicXML that music21 reads back with every note, one named part per
instrument, an estimated tempo and key; PDF when an engraver is installed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from music21 import converter, key, stream, tempo
from support import AMT_FIXTURES

from midicli.music.midi_io import read_midi
from midicli.music.piece import Note, Piece
from midicli.render import RenderError, render_piece
from midicli.render.notation import MUSESCORE

pytestmark = pytest.mark.filterwarnings(
    "ignore:Cannot put in an element with a missing voice tag"
)  # music21 reading its own output
ENGRAVER = any(shutil.which(name) for name in MUSESCORE) or bool(
    shutil.which("lilypond") and shutil.which("musicxml2ly")
)


def sounding_notes(score: stream.Score) -> int:
    """Notes as played: each chord member counts, tied continuations do not."""
    count = 0
    for element in score.recurse().notes:
        for note in element.notes if element.isChord else [element]:
            tie = note.tie or element.tie
            count += tie is None or tie.type == "start"
    return count


def read_back(path: Path) -> stream.Score:
    assert path.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    return converter.parse(path, format="musicxml")


def test_a_chorale_reads_back_with_every_note_its_tempo_and_key(
    tmp_path: Path, chorale: Piece
) -> None:
    score = read_back(
        render_piece(chorale, "musicxml", tmp_path / "chorale.musicxml", title="BWV 66.6")
    )
    assert sounding_notes(score) == len(chorale.notes)
    assert [p.partName for p in score.parts] == ["Acoustic Grand Piano"]
    [mark] = score.recurse().getElementsByClass(tempo.MetronomeMark)
    assert mark.number == 96
    [found] = score.parts[0].recurse().getElementsByClass(key.KeySignature)
    assert found.sharps == 3  # F# minor, as the chorale is
    assert score.metadata.movementName == "BWV 66.6"


def test_generated_music_gets_an_estimated_tempo_and_one_part_per_instrument(
    tmp_path: Path, duet: Piece
) -> None:
    """The duet declares no tempo; its notes fall every 0.4 s, i.e. 150 beats a minute."""
    score = read_back(render_piece(duet, "musicxml", tmp_path / "duet.musicxml"))
    assert [p.partName for p in score.parts] == ["Electric Bass (finger)", "Flute"]
    assert [sounding_notes(p) for p in score.parts] == [8, 8]
    [mark] = score.parts[0].recurse().getElementsByClass(tempo.MetronomeMark)
    assert mark.number == pytest.approx(150, abs=1)


def test_drums_and_a_tempo_change_survive(tmp_path: Path) -> None:
    piece = read_midi(AMT_FIXTURES / "edge_drums_tempo_change.mid")
    score = read_back(render_piece(piece, "musicxml", tmp_path / "drums.musicxml"))
    assert sounding_notes(score) == len(piece.notes)
    assert [m.number for m in score.parts[0].recurse().getElementsByClass(tempo.MetronomeMark)] == [
        120,
        200,
    ]


def test_overlapping_notes_of_one_instrument_become_chords_or_voices(tmp_path: Path) -> None:
    piece = Piece([Note(0, 2, 60), Note(0, 1, 64), Note(0.5, 1.5, 67), Note(1, 1, 72)])
    assert sounding_notes(read_back(render_piece(piece, "musicxml", tmp_path / "x.musicxml"))) == 4


@pytest.mark.skipif(not ENGRAVER, reason="neither MuseScore nor LilyPond is installed")
def test_a_pdf_is_engraved(tmp_path: Path, duet: Piece) -> None:
    out = render_piece(duet, "pdf", tmp_path / "duet.pdf", title="duet")
    assert out.read_bytes().startswith(b"%PDF")


def test_without_an_engraver_pdf_says_what_to_install(
    tmp_path: Path, duet: Piece, monkeypatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RenderError, match=r"apt-get install lilypond"):
        render_piece(duet, "pdf", tmp_path / "duet.pdf")
