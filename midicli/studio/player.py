"""Playing a rendered file with whatever command-line audio player the system has."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from midicli.errors import MidicliError

PLAYERS: tuple[tuple[str, ...], ...] = (
    ("afplay",),
    ("paplay",),
    ("aplay", "-q"),
    ("ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"),
    ("mpv", "--no-video", "--really-quiet"),
    ("play", "-q"),
)


def find_player() -> list[str] | None:
    """The first player on $PATH (macOS afplay, PulseAudio, ALSA, ffmpeg, mpv, sox)."""
    return next((list(player) for player in PLAYERS if shutil.which(player[0])), None)


def play(path: Path) -> None:
    """Play ``path`` to the end (Ctrl-C stops it)."""
    player = find_player()
    if player is None:
        names = ", ".join(p[0] for p in PLAYERS)
        raise MidicliError(
            f"no audio player found (looked for {names}): `render` writes the file to open yourself"
        )
    status = subprocess.run([*player, str(path)]).returncode
    if status != 0:
        raise MidicliError(f"{player[0]} could not play {path.name} (exit status {status})")
