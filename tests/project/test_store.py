"""The database schema: a blank project gets every migration, an old one is upgraded."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from midicli.errors import ProjectError
from midicli.music.midi_io import write_midi
from midicli.music.piece import Note, Piece
from midicli.project import Project, ProjectConfig
from midicli.project.store import MIGRATIONS, Store, m001_pieces_and_versions

ALL = [m.__name__ for m in MIGRATIONS]


def columns(db_path: Path, table: str) -> set[str]:
    with sqlite3.connect(db_path) as db:
        return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def test_a_blank_database_gets_every_migration_once(tmp_path: Path) -> None:
    db_path = tmp_path / "midicli.db"
    store = Store(db_path, tmp_path)
    assert store.applied_migrations() == ALL
    store.close()
    store = Store(db_path, tmp_path)  # opening again applies nothing twice
    assert store.applied_migrations() == ALL
    store.close()
    assert {"name", "created", "last_number"} <= columns(db_path, "pieces")
    assert {
        "piece_id",
        "number",
        "parent_id",
        "operation",
        "params",
        "seed",
        "model_hash",
        "batch",
    } <= columns(db_path, "versions")
    assert {"duration", "notes", "instruments"} <= columns(db_path, "versions")


def test_a_project_made_before_the_summary_columns_is_upgraded_on_open(tmp_path: Path) -> None:
    """A database at m001 only, with one imported piece, as an older midicli left it."""
    ProjectConfig().save(tmp_path / "midicli.toml")
    (tmp_path / "pieces" / "old-tune").mkdir(parents=True)
    write_midi(
        Piece([Note(0.0, 1.0, 60, 40), Note(1.0, 1.5, 62, 40)]), tmp_path / "pieces/old-tune/v1.mid"
    )
    with sqlite3.connect(tmp_path / "midicli.db") as db:
        m001_pieces_and_versions(db, tmp_path)
        db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
        db.execute("INSERT INTO _migrations VALUES ('m001_pieces_and_versions', '2026-01-01')")
        db.execute(
            "INSERT INTO pieces (name, created, last_number) VALUES ('old-tune', '2026-01-01', 1)"
        )
        db.execute(
            "INSERT INTO versions (piece_id, number, operation, params, midi_path, created)"
            " VALUES (1, 1, 'import', ?, 'pieces/old-tune/v1.mid', '2026-01-01')",
            (json.dumps({}),),
        )
    db.close()

    with Project.open(tmp_path) as project:
        [summary] = project.pieces()
        record = project.resolve("old-tune")
    assert (summary.name, summary.latest, summary.notes, summary.instruments) == (
        "old-tune",
        1,
        2,
        [40],
    )
    assert summary.duration == pytest.approx(2.5, abs=0.01)
    assert record.ref == "old-tune@1" and record.operation == "import"
    store = Store(tmp_path / "midicli.db", tmp_path)
    assert store.applied_migrations() == ALL
    store.close()


def test_a_database_from_a_newer_midicli_is_refused_not_damaged(tmp_path: Path) -> None:
    db_path = tmp_path / "midicli.db"
    Store(db_path, tmp_path).close()
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO _migrations VALUES ('m999_from_the_future', '2030-01-01')")
    db.close()
    with pytest.raises(ProjectError, match="newer midicli.*m999_from_the_future"):
        Store(db_path, tmp_path)


def test_a_file_that_is_not_a_database_is_a_project_error(tmp_path: Path) -> None:
    db_path = tmp_path / "midicli.db"
    db_path.write_text("not a database, just text that is long enough to be read as a header" * 20)
    with pytest.raises(ProjectError, match="cannot use the project database"):
        Store(db_path, tmp_path)
