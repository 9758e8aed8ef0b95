"""The project database ``midicli.db``: pieces, their versions, and how each was made.

Schema changes are ``mNNN_…`` functions applied in order on open and recorded in
``_migrations``, so any older project upgrades itself and none is migrated twice.
Transactions are explicit (``BEGIN IMMEDIATE``): the writer holds the database's write
lock from choosing version numbers until its commit, which keeps concurrent writers
from taking the same numbers and keeps the orphan sweep away from files in flight.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from midicli.errors import MidicliError, ProjectError
from midicli.project.records import (
    ADAPTER_METHODS,
    OPERATIONS,
    PREFERENCE_SOURCES,
    PieceSummary,
    VersionRecord,
)
from midicli.project.refs import format_ref

DB_NAME = "midicli.db"
BUSY_SECONDS = 10.0

Migration = Callable[[sqlite3.Connection, Path], None]


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Statement by statement: ``executescript`` would commit the open transaction."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def m001_pieces_and_versions(db: sqlite3.Connection, root: Path) -> None:
    """Pieces and their versions. ``last_number`` keeps version numbers from being
    reused after a removal; version ids are AUTOINCREMENT so they are never reused
    either (later tables such as preferences point at them)."""
    operations = ", ".join(f"'{op}'" for op in OPERATIONS)
    _run_script(
        db,
        f"""
        CREATE TABLE pieces (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created TEXT NOT NULL,
            last_number INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE versions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            piece_id INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            parent_id INTEGER REFERENCES versions(id) ON DELETE SET NULL,
            operation TEXT NOT NULL CHECK (operation IN ({operations})),
            text TEXT,
            params TEXT NOT NULL DEFAULT '{{}}',
            seed INTEGER,
            model TEXT,
            model_hash TEXT,
            engine TEXT,
            adapter TEXT,
            timings TEXT NOT NULL DEFAULT '{{}}',
            manifest TEXT NOT NULL DEFAULT '{{}}',
            midi_path TEXT NOT NULL,
            tokens_path TEXT,
            batch TEXT,
            created TEXT NOT NULL,
            UNIQUE (piece_id, number)
        );
        CREATE INDEX versions_batch ON versions(batch);
        CREATE INDEX versions_parent ON versions(parent_id);
        """,
    )


def m002_version_summary(db: sqlite3.Connection, root: Path) -> None:
    """Duration, note count and instruments of each version, so listing a project does
    not read every MIDI file; versions stored before this are measured once, here."""
    from midicli.music.midi_io import read_midi

    _run_script(
        db,
        """
        ALTER TABLE versions ADD COLUMN duration REAL;
        ALTER TABLE versions ADD COLUMN notes INTEGER;
        ALTER TABLE versions ADD COLUMN instruments TEXT NOT NULL DEFAULT '[]';
        """,
    )
    for version_id, midi_path in db.execute("SELECT id, midi_path FROM versions").fetchall():
        if not (root / midi_path).resolve().is_relative_to(root.resolve()):
            continue  # a row pointing out of the project is never read
        try:
            piece = read_midi(root / midi_path)
        except MidicliError:
            continue  # unreadable: the summary stays empty rather than blocking the upgrade
        db.execute(
            "UPDATE versions SET duration = ?, notes = ?, instruments = ? WHERE id = ?",
            (piece.duration, len(piece.notes), json.dumps(piece.instruments), version_id),
        )


def m003_preferences_ratings_adapters(db: sqlite3.Connection, root: Path) -> None:
    """Judgements between versions (with copies of the exact prompt and generated ids,
    so removing a version keeps its training data), star ratings, and tuned adapters."""
    sources = ", ".join(f"'{s}'" for s in PREFERENCE_SOURCES)
    methods = ", ".join(f"'{m}'" for m in ADAPTER_METHODS)
    _run_script(
        db,
        f"""
        CREATE TABLE preferences (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chosen_id INTEGER REFERENCES versions(id) ON DELETE SET NULL,
            rejected_id INTEGER REFERENCES versions(id) ON DELETE SET NULL,
            chosen_ref TEXT NOT NULL,
            rejected_ref TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ({sources})),
            prompt_ids TEXT NOT NULL,
            chosen_ids TEXT NOT NULL,
            rejected_ids TEXT NOT NULL,
            model TEXT,
            model_hash TEXT,
            created TEXT NOT NULL
        );
        CREATE UNIQUE INDEX preferences_pair ON preferences(chosen_id, rejected_id);
        CREATE TABLE ratings (
            version_id INTEGER PRIMARY KEY REFERENCES versions(id) ON DELETE CASCADE,
            stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
            created TEXT NOT NULL
        );
        CREATE TABLE adapters (
            name TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            method TEXT NOT NULL CHECK (method IN ({methods})),
            base_model TEXT NOT NULL,
            base_hash TEXT NOT NULL,
            preference_ids TEXT NOT NULL DEFAULT '[]',
            params TEXT NOT NULL DEFAULT '{{}}',
            metrics TEXT NOT NULL DEFAULT '{{}}',
            created TEXT NOT NULL
        );
        """,
    )


MIGRATIONS: tuple[Migration, ...] = (
    m001_pieces_and_versions,
    m002_version_summary,
    m003_preferences_ratings_adapters,
)


_SELECT_VERSIONS = """
    SELECT v.*, p.name AS piece_name, pv.number AS parent_number, pp.name AS parent_piece
    FROM versions v
    JOIN pieces p ON p.id = v.piece_id
    LEFT JOIN versions pv ON pv.id = v.parent_id
    LEFT JOIN pieces pp ON pp.id = pv.piece_id
"""


class Store:
    """One connection to a project's database, migrated to the current schema."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
        except sqlite3.Error as error:
            raise ProjectError(f"cannot open the project database {path}: {error}") from None
        try:
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate(root)
        except BaseException as error:
            self.db.close()
            if isinstance(error, sqlite3.DatabaseError):
                raise ProjectError(f"cannot use the project database {path}: {error}") from None
            raise

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; holds the write lock throughout."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise ProjectError(
                f"cannot write to {self.path} ({error}): another midicli may be busy with it, try "
                "again"
            ) from None
        try:
            yield
            self.commit()
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    def commit(self) -> None:
        """The single step that makes a transaction's changes real."""
        self.db.execute("COMMIT")

    def _migrate(self, root: Path) -> None:
        if self._pending():
            with self.transaction():
                self.db.execute(
                    "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied TEXT "
                    "NOT NULL)"
                )
                for migration in self._pending():  # again: another process may have run some
                    migration(self.db, root)
                    self.db.execute(
                        "INSERT INTO _migrations (name, applied) VALUES (?, datetime('now'))",
                        (migration.__name__,),
                    )

    def _pending(self) -> list[Migration]:
        known = {m.__name__ for m in MIGRATIONS}
        applied = set(self.applied_migrations())
        if applied - known:
            newest = max(applied - known)
            raise ProjectError(
                f"{self.path} was upgraded by a newer midicli ({newest}); upgrade midicli to use it"
            )
        return [m for m in MIGRATIONS if m.__name__ not in applied]

    def applied_migrations(self) -> list[str]:
        exists = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'"
        ).fetchone()
        if not exists:
            return []
        return [row[0] for row in self.db.execute("SELECT name FROM _migrations ORDER BY rowid")]

    # -- reading -------------------------------------------------------------------

    def last_number(self, name: str) -> int | None:
        """The highest version number a piece has ever had; None for no such piece."""
        row = self.db.execute("SELECT last_number FROM pieces WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def latest_number(self, name: str) -> int | None:
        row = self.db.execute(
            "SELECT MAX(v.number) FROM versions v JOIN pieces p ON p.id = v.piece_id WHERE p.name "
            "= ?",
            (name,),
        ).fetchone()
        latest: int | None = row[0]
        return latest

    def has_version(self, version_id: int) -> bool:
        return (
            self.db.execute("SELECT 1 FROM versions WHERE id = ?", (version_id,)).fetchone()
            is not None
        )

    def version(self, name: str, number: int) -> VersionRecord | None:
        rows = self._versions("WHERE p.name = ? AND v.number = ?", (name, number))
        return rows[0] if rows else None

    def versions_of(self, name: str) -> list[VersionRecord]:
        return self._versions("WHERE p.name = ? ORDER BY v.number", (name,))

    def versions_by_id(self, ids: list[int]) -> list[VersionRecord]:
        found = {
            r.id: r
            for r in self._versions(f"WHERE v.id IN ({', '.join('?' * len(ids))})", tuple(ids))
        }
        return [found[i] for i in ids]

    def batch(self, batch: str) -> list[VersionRecord]:
        return self._versions("WHERE v.batch = ? ORDER BY v.id", (batch,))

    def names(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT name FROM pieces")}

    def referenced_paths(self) -> set[str]:
        rows = self.db.execute("SELECT midi_path, tokens_path FROM versions").fetchall()
        return {path for row in rows for path in row if path}

    def summaries(self) -> list[PieceSummary]:
        rows = self.db.execute(
            """
            SELECT p.name, p.created, c.count, v.number, v.operation, v.duration, v.notes,
                v.instruments
            FROM pieces p
            JOIN (
                SELECT piece_id, COUNT(*) AS count, MAX(number) AS latest
                FROM versions GROUP BY piece_id
            ) c
                ON c.piece_id = p.id
            JOIN versions v ON v.piece_id = p.id AND v.number = c.latest
            ORDER BY p.id
            """
        ).fetchall()
        return [
            PieceSummary(
                name=row["name"],
                versions=row["count"],
                latest=row["number"],
                operation=row["operation"],
                created=row["created"],
                duration=row["duration"],
                notes=row["notes"],
                instruments=json.loads(row["instruments"]),
            )
            for row in rows
        ]

    def _versions(self, where: str, args: tuple[Any, ...]) -> list[VersionRecord]:
        return [_record(row) for row in self.db.execute(f"{_SELECT_VERSIONS} {where}", args)]

    # -- writing (inside a transaction) --------------------------------------------

    def insert_version(self, name: str, number: int, fields: dict[str, Any], created: str) -> int:
        """Add version ``number`` of piece ``name`` (creating the piece); returns its id."""
        row = self.db.execute("SELECT id FROM pieces WHERE name = ?", (name,)).fetchone()
        if row is None:
            piece_id = self.db.execute(
                "INSERT INTO pieces (name, created) VALUES (?, ?)", (name, created)
            ).lastrowid
        else:
            piece_id = row[0]
        self.db.execute(
            "UPDATE pieces SET last_number = MAX(last_number, ?) WHERE id = ?", (number, piece_id)
        )
        columns = {"piece_id": piece_id, "number": number, "created": created} | fields
        cursor = self.db.execute(
            f"INSERT INTO versions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            tuple(columns.values()),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def delete_version(self, version_id: int) -> None:
        self.db.execute("DELETE FROM versions WHERE id = ?", (version_id,))

    def delete_piece(self, name: str) -> None:
        self.db.execute("DELETE FROM pieces WHERE name = ?", (name,))


def _record(row: sqlite3.Row) -> VersionRecord:
    parent = format_ref(row["parent_piece"], row["parent_number"]) if row["parent_piece"] else None
    return VersionRecord(
        id=row["id"],
        piece=row["piece_name"],
        number=row["number"],
        operation=row["operation"],
        created=row["created"],
        midi_path=row["midi_path"],
        tokens_path=row["tokens_path"],
        parent_id=row["parent_id"],
        parent=parent,
        text=row["text"],
        params=json.loads(row["params"]),
        seed=row["seed"],
        model=row["model"],
        model_hash=row["model_hash"],
        engine=row["engine"],
        adapter=row["adapter"],
        timings=json.loads(row["timings"]),
        manifest=json.loads(row["manifest"]),
        batch=row["batch"],
        duration=row["duration"],
        notes=row["notes"],
        instruments=json.loads(row["instruments"]),
    )
