"""Editing in the user's $EDITOR: a version's notes as text, and long descriptions.

Quitting the editor without saving changes nothing. Notes text with bad lines comes
back in the editor with each bad line marked, until it reads or the user quits.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from midicli.errors import MidicliError
from midicli.music.meter import Meter
from midicli.music.notes_text import SUFFIX, NotesTextError, from_text, keep_exact, to_text
from midicli.music.piece import Piece
from midicli.project import Project
from midicli.project.records import NewVersion, VersionRecord

MARK = "#!"  # starts the lines we add to point at errors; removed before reading
FALLBACK_EDITORS = ("nano", "vi")

# (text, file name) -> the saved text, or None when the user quit without saving
Editor = Callable[[str, str], "str | None"]


class EditorError(MidicliError):
    """No editor to run, or the editor failed."""


def editor_command() -> list[str]:
    """$VISUAL, else $EDITOR, else the first of nano and vi found."""
    chosen = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if chosen:
        return shlex.split(chosen)
    found = next((name for name in FALLBACK_EDITORS if shutil.which(name)), None)
    if found is None:
        raise EditorError("no editor found: set $EDITOR (for example `export EDITOR=nano`)")
    return [found]


def open_editor(text: str, name: str) -> str | None:
    """``text`` as the user saved it from their editor; None if they quit without saving."""
    command = editor_command()
    with tempfile.TemporaryDirectory(prefix="midicli-") as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        written = path.stat().st_mtime_ns
        try:
            status = subprocess.run([*command, str(path)]).returncode
        except OSError as error:
            raise EditorError(
                f"cannot run the editor {command[0]!r}: {error.strerror or error}; set $EDITOR"
            ) from None
        if status != 0:
            raise EditorError(
                f"the editor {command[0]!r} exited with status {status}: nothing changed"
            )
        saved = path.read_text(encoding="utf-8")
        return None if saved == text and path.stat().st_mtime_ns == written else saved


def mark_errors(text: str, error: NotesTextError) -> str:
    """The text with a ``#!`` line above each bad line saying what is wrong with it."""
    reasons: dict[int, list[str]] = {}
    for item in error.errors:
        reasons.setdefault(item.number, []).append(item.reason)
    top = [
        f"{MARK} {len(error.errors)} problem(s), marked with {MARK} lines: fix them and save, or "
        "quit without saving to cancel."
    ]
    top += [f"{MARK} error: {reason}" for reason in reasons.get(0, [])]
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        lines += [f"{MARK} error (the line below): {reason}" for reason in reasons.get(number, [])]
        lines.append(line)
    return "\n".join(top + lines) + "\n"


def unmarked(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(MARK)) + "\n"


def edit_notes(
    project: Project, record: VersionRecord, time: str = "seconds", editor: Editor = open_editor
) -> VersionRecord | None:
    """Open the version's notes as text; a saved change becomes a new "edit" version.

    Returns None when nothing changed (quit without saving, or only comments edited)."""
    original = project.load_piece(record)
    written = to_text(original, time, record.ref)
    grid = Meter.of(original)
    as_written = from_text(written, grid)
    text = written
    while True:
        saved = editor(text, f"{record.piece}@{record.number}{SUFFIX}")
        if saved is None:
            return None
        saved = unmarked(saved)
        try:
            edited = from_text(saved, grid)
        except NotesTextError as error:
            text = mark_errors(saved, error)
            continue
        piece = keep_exact(edited, original, as_written)
        if piece == Piece(
            sorted(original.notes, key=lambda n: n.onset), original.tempos, original.time_signatures
        ):
            return None
        [created] = project.add_versions(
            [
                NewVersion(
                    name=record.piece,
                    piece=piece,
                    operation="edit",
                    parent=record,
                    text=record.text,
                    params={"time": time},
                )
            ]
        )
        return created


def import_notes(project: Project, path: Path, name: str | None = None) -> VersionRecord:
    """A notes text file as version 1 of a new piece, named like an imported MIDI file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MidicliError(
            f"cannot read {path}: {getattr(error, 'strerror', None) or error}"
        ) from None
    return project.import_piece(from_text(text, source=path.name), path, name)


def edit_description(text: str = "", editor: Editor = open_editor) -> str | None:
    """Words for the model written in the editor (``text`` to start from); None if the
    user quit without saving or left no words. Lines starting with ``#`` are dropped."""
    template = (f"{text}\n\n" if text else "\n") + (
        "# Describe the music: style, mood, instruments, tempo. Lines starting with # are "
        "ignored;\n"
        "# quit without saving to cancel.\n"
    )
    saved = editor(template, "description.txt")
    if saved is None:
        return None
    words = " ".join(
        line for line in saved.splitlines() if not line.lstrip().startswith("#")
    ).split()
    return " ".join(words) or None
