"""Rendering through the registry: formats come from plugins, files appear whole or
not at all, and a version's render lands beside its MIDI."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import files_under

from midicli import plugins
from midicli.music.piece import Piece
from midicli.project import NewVersion, Project
from midicli.render import RenderError, formats, render_piece, render_version


def test_the_built_in_formats_are_registered_like_plugins() -> None:
    assert {"wav", "flac", "mp3", "ogg", "png", "musicxml", "pdf"} <= set(formats())
    assert "midicli.render.plugin" in {p.name for p in plugins.plugin_list()}


def test_an_unknown_format_lists_the_known_ones(tmp_path: Path, duet: Piece) -> None:
    with pytest.raises(RenderError, match=r"no renderer for 'midi2' \(available: .*musicxml.*wav"):
        render_piece(duet, "midi2", tmp_path / "x.midi2")


def test_a_piece_without_notes_is_not_rendered(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="no notes"):
        render_piece(Piece(), "png", tmp_path / "empty.png")


def test_a_failing_renderer_leaves_the_previous_file_and_no_litter(
    tmp_path: Path, duet: Piece, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_then_crash(piece: Piece, out_path: Path, **options: object) -> None:
        Path(out_path).write_text("half a file")
        raise ValueError("disk on fire")

    monkeypatch.setattr(plugins, "renderers", lambda: {"txt": half_then_crash})
    out = tmp_path / "piece.txt"
    out.write_text("the previous render")
    with pytest.raises(
        RenderError, match=r"the txt renderer \(.*test_core\) failed: ValueError: disk on fire"
    ):
        render_piece(duet, "txt", out)
    assert out.read_text() == "the previous render"
    assert files_under(tmp_path) == ["piece.txt"]


def test_an_output_folder_that_does_not_exist_is_one_clear_error(
    tmp_path: Path, duet: Piece
) -> None:
    with pytest.raises(
        RenderError, match=r"cannot write .*nowhere/duet.png: No such file or directory"
    ):
        render_piece(duet, "png", tmp_path / "nowhere" / "duet.png")


def test_a_version_renders_beside_its_midi_with_the_projects_soundfont(
    tmp_path: Path, duet: Piece
) -> None:
    with Project.init(tmp_path / "album") as project:
        [record] = project.add_versions([NewVersion("duet", duet, "import")])
        assert render_version(project, record, "wav") == project.root / "pieces" / "duet" / "v1.wav"
        elsewhere = tmp_path / "duet-take.wav"
        assert (
            render_version(project, record, "wav", elsewhere) == elsewhere and elsewhere.is_file()
        )
        project.config.soundfont = "sounds/missing.sf2"  # relative to the project
        with pytest.raises(RenderError, match=r"no soundfont at .*album/sounds/missing.sf2"):
            render_version(project, record, "wav")
        project.remove("duet@1")
        assert not (project.root / "pieces" / "duet").exists()  # its renders went with it
