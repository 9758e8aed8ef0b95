"""Crash-safe files: whatever the project writes is complete or absent, never half there.

A file is written to a temporary name in its own folder, flushed to disk, then renamed
over its final name, so a reader (or a process killed mid-write) never sees a torn file.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".tmp"

# Files the store names itself: only these are ever swept as orphans, so files a user
# (or a renderer) drops into a piece folder are left alone.
_STORE_FILE = re.compile(r"v\d+\.(mid|tokens\.json)")
_TEMP_FILE = re.compile(r"\..+\.tmp")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # mkstemp makes 0600 files; give ours the usual mode


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (whose folder must exist) all at once."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, FILE_MODE)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, text.encode("utf-8"))


def apply_umask(folder: Path) -> None:
    """Give every file under ``folder`` the mode a plain ``open()`` would: libraries that
    write aside and rename (model weights) leave 0600 files others cannot read."""
    for path in folder.rglob("*"):
        if path.is_file():
            os.chmod(path, FILE_MODE)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX only: Windows cannot open folders)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def orphans(pieces_dir: Path, referenced: set[Path]) -> list[Path]:
    """Store files no database row points at, plus piece folders left with nothing else.

    These are what a process killed between writing its files and committing leaves.
    Folders come after the files they hold, so ``discard`` can remove them in order.
    """
    found: list[Path] = []
    if not pieces_dir.is_dir():
        return found
    for folder in sorted(
        p for p in pieces_dir.iterdir() if p.is_dir() and not p.is_symlink()
    ):  # a link leads out
        entries = list(folder.iterdir())
        stray = [
            entry
            for entry in sorted(entries)
            if entry.is_file()
            and entry not in referenced
            and (_STORE_FILE.fullmatch(entry.name) or _TEMP_FILE.fullmatch(entry.name))
        ]
        found.extend(stray)
        if len(stray) == len(entries):
            found.append(folder)
    return found


def discard(paths: list[Path]) -> None:
    """Remove files, then folders if empty; what is already gone or still used is skipped."""
    for path in paths:
        try:
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        except OSError:
            pass  # a folder someone put a file in, or a file already removed: leave it
