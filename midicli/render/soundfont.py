"""Finding a General MIDI soundfont: the one asked for, then the usual places."""

from __future__ import annotations

from pathlib import Path

from midicli.project.config import midicli_home
from midicli.render.core import RenderError

# ``soundfonts/`` at the top of a midicli checkout: users drop .sf2 files there.
CHECKOUT_SOUNDFONTS = Path(__file__).resolve().parents[2] / "soundfonts"

SYSTEM_SOUNDFONTS: tuple[Path, ...] = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),  # Debian/Ubuntu fluid-soundfont-gm
    Path("/usr/share/soundfonts/FluidR3_GM.sf2"),  # Fedora, Arch
    Path("/usr/share/soundfonts/default.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
    Path("/usr/local/share/soundfonts/default.sf2"),
    Path("/opt/homebrew/share/soundfonts/default.sf2"),
)

INSTALL_HINT = (
    "install one (apt-get install fluid-soundfont-gm), drop an .sf2 file into soundfonts/, or pass "
    "--soundfont FILE"
)


def soundfont_folders() -> list[Path]:
    """Folders searched for ``*.sf2``/``*.sf3`` before the system paths."""
    return [CHECKOUT_SOUNDFONTS, midicli_home() / "soundfonts"]


def find_soundfont(chosen: str | Path | None = None) -> Path:
    """``chosen`` if given (it must exist), else the first soundfont in
    ``soundfont_folders()``, else the first of ``SYSTEM_SOUNDFONTS`` present."""
    if chosen is not None:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise RenderError(
                f"no soundfont at {path}: give an existing .sf2 file, or leave it unset to use the "
                "system's"
            )
        return path
    for folder in soundfont_folders():
        if folder.is_dir():
            found = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".sf2", ".sf3"))
            if found:
                return found[0]
    for path in SYSTEM_SOUNDFONTS:
        if path.is_file():
            return path
    raise RenderError(f"no soundfont found for audio: {INSTALL_HINT}")
