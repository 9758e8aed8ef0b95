"""Which soundfont audio uses: the one asked for, then soundfonts/ folders, then the system's."""

from __future__ import annotations

from pathlib import Path

import pytest

from midicli.music.piece import Piece
from midicli.render import RenderError, render_piece, soundfont
from midicli.render.soundfont import find_soundfont

SYSTEM = next((p for p in soundfont.SYSTEM_SOUNDFONTS if p.is_file()), None)
needs_system_soundfont = pytest.mark.skipif(
    SYSTEM is None, reason="no system soundfont (apt-get install fluid-soundfont-gm)"
)


@pytest.fixture
def no_checkout_soundfonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty checkout soundfonts/ folder, so a developer's own .sf2 files do not count."""
    folder = tmp_path / "checkout-soundfonts"
    folder.mkdir()
    monkeypatch.setattr(soundfont, "CHECKOUT_SOUNDFONTS", folder)
    return folder


def test_a_chosen_soundfont_must_exist(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="no soundfont at .*missing.sf2"):
        find_soundfont(tmp_path / "missing.sf2")


@needs_system_soundfont
def test_a_soundfont_dropped_into_the_users_folder_comes_before_the_systems(
    no_checkout_soundfonts: Path, midicli_home: Path
) -> None:
    assert find_soundfont() == SYSTEM
    mine = midicli_home / "soundfonts" / "Mine.sf2"
    mine.parent.mkdir()
    mine.symlink_to(SYSTEM)
    assert find_soundfont() == mine
    ours = no_checkout_soundfonts / "Ours.sf2"
    ours.symlink_to(SYSTEM)
    assert find_soundfont() == ours


def test_with_no_soundfont_anywhere_the_error_says_how_to_install_one(
    no_checkout_soundfonts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(soundfont, "SYSTEM_SOUNDFONTS", ())
    with pytest.raises(RenderError, match=r"apt-get install fluid-soundfont-gm"):
        find_soundfont()


def test_a_file_that_is_not_a_soundfont_is_named(tmp_path: Path, duet: Piece) -> None:
    fake = tmp_path / "fake.sf2"
    fake.write_text("not a soundfont")
    with pytest.raises(RenderError, match="fake.sf2 is not a soundfont"):
        render_piece(duet, "wav", tmp_path / "duet.wav", soundfont=fake)
    assert not (tmp_path / "duet.wav").exists()
