"""Atomic writes and the sweep of files a killed process left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from midicli.project.files import FILE_MODE, apply_umask, discard, orphans, write_atomic


def test_a_write_lands_whole_with_no_temporary_file_left(tmp_path: Path) -> None:
    path = tmp_path / "v1.mid"
    write_atomic(path, b"MThd")
    write_atomic(path, b"MThd again")
    assert path.read_bytes() == b"MThd again"
    assert os.listdir(tmp_path) == ["v1.mid"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600


def test_a_write_that_fails_keeps_the_old_file_and_leaves_no_debris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v1.mid"
    path.write_bytes(b"old")

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["v1.mid"]


def test_only_store_files_nobody_references_are_orphans(tmp_path: Path) -> None:
    pieces = tmp_path / "pieces"
    kept, stray = pieces / "kept", pieces / "stray"
    for folder in (kept, stray):
        folder.mkdir(parents=True)
    (kept / "v1.mid").write_bytes(b"")
    (kept / "v2.mid").write_bytes(b"")
    (kept / "notes.txt").write_text("mine")  # a user's own file is never swept
    (stray / "v1.mid").write_bytes(b"")
    (stray / "v1.tokens.json").write_text("[]")
    (stray / ".v2.mid.x1y2.tmp").write_bytes(b"")

    found = orphans(pieces, referenced={kept / "v1.mid"})
    assert found == [
        kept / "v2.mid",
        stray / ".v2.mid.x1y2.tmp",
        stray / "v1.mid",
        stray / "v1.tokens.json",
        stray,
    ]

    discard(found)
    assert sorted(p.name for p in pieces.rglob("*")) == ["kept", "notes.txt", "v1.mid"]
    assert orphans(pieces, referenced={kept / "v1.mid"}) == []


def usual_mode() -> int:
    """What a plain open() would give a new file under the current umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def test_written_files_get_the_umask_mode_not_0600(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.mid", b"MThd")
    assert FILE_MODE == usual_mode() != 0o600
    assert (tmp_path / "a.mid").stat().st_mode & 0o777 == usual_mode()


def test_files_a_library_wrote_private_are_opened_up_to_the_umask(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    weights = tmp_path / "model" / "model.safetensors"
    weights.write_bytes(b"w")
    weights.chmod(0o600)
    apply_umask(tmp_path)
    assert weights.stat().st_mode & 0o777 == usual_mode()
