"""The user's taste in the project database: preferences between versions, star
ratings, and the adapters tuned on them (tables made by ``store.m003_…``).

Plain functions over the store's connection; writers run inside the caller's
``Store.transaction()``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from midicli.project.records import AdapterRecord, NewPreference, PreferenceRecord


def preferences(
    db: sqlite3.Connection, where: str = "", args: tuple[Any, ...] = ()
) -> list[PreferenceRecord]:
    rows = db.execute(f"SELECT * FROM preferences {where} ORDER BY id", args).fetchall()
    return [
        PreferenceRecord(
            id=row["id"],
            chosen=row["chosen_ref"],
            rejected=row["rejected_ref"],
            chosen_id=row["chosen_id"],
            rejected_id=row["rejected_id"],
            source=row["source"],
            prompt_ids=json.loads(row["prompt_ids"]),
            chosen_ids=json.loads(row["chosen_ids"]),
            rejected_ids=json.loads(row["rejected_ids"]),
            model=row["model"],
            model_hash=row["model_hash"],
            created=row["created"],
        )
        for row in rows
    ]


def insert_preference(db: sqlite3.Connection, new: NewPreference, created: str) -> int:
    """Record ``new`` unless the same pair is there already; the reversed pair gives way
    (the latest judgement wins). Returns the preference's id."""
    pair = (new.chosen.id, new.rejected.id)
    db.execute("DELETE FROM preferences WHERE chosen_id = ? AND rejected_id = ?", pair[::-1])
    found = db.execute(
        "SELECT id FROM preferences WHERE chosen_id = ? AND rejected_id = ?", pair
    ).fetchone()
    if found is not None:
        return int(found[0])
    cursor = db.execute(
        "INSERT INTO preferences (chosen_id, rejected_id, chosen_ref, rejected_ref, source, "
        "prompt_ids, chosen_ids,"
        " rejected_ids, model, model_hash, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *pair,
            new.chosen.ref,
            new.rejected.ref,
            new.source,
            json.dumps(new.prompt_ids),
            json.dumps(new.chosen_ids),
            json.dumps(new.rejected_ids),
            new.chosen.model,
            new.chosen.model_hash,
            created,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def delete_preference(db: sqlite3.Connection, preference_id: int) -> bool:
    return db.execute("DELETE FROM preferences WHERE id = ?", (preference_id,)).rowcount > 0


def ratings(db: sqlite3.Connection) -> dict[int, int]:
    """Stars by version id."""
    return {row[0]: row[1] for row in db.execute("SELECT version_id, stars FROM ratings")}


def set_rating(db: sqlite3.Connection, version_id: int, stars: int, created: str) -> None:
    """Store the rating and drop the preferences an earlier rating of this version implied."""
    db.execute(
        "INSERT INTO ratings (version_id, stars, created) VALUES (?, ?, ?)"
        " ON CONFLICT (version_id) DO UPDATE SET stars = excluded.stars, created = "
        "excluded.created",
        (version_id, stars, created),
    )
    db.execute(
        "DELETE FROM preferences WHERE source = 'rating' AND (chosen_id = ? OR rejected_id = ?)",
        (version_id, version_id),
    )


def adapters(
    db: sqlite3.Connection, where: str = "", args: tuple[Any, ...] = ()
) -> list[AdapterRecord]:
    rows = db.execute(f"SELECT * FROM adapters {where} ORDER BY created, name", args).fetchall()
    return [
        AdapterRecord(
            name=row["name"],
            path=row["path"],
            method=row["method"],
            base_model=row["base_model"],
            base_hash=row["base_hash"],
            preference_ids=json.loads(row["preference_ids"]),
            params=json.loads(row["params"]),
            metrics=json.loads(row["metrics"]),
            created=row["created"],
        )
        for row in rows
    ]


def insert_adapter(db: sqlite3.Connection, record: AdapterRecord) -> None:
    db.execute(
        "INSERT INTO adapters (name, path, method, base_model, base_hash, preference_ids, params, "
        "metrics, created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.name,
            record.path,
            record.method,
            record.base_model,
            record.base_hash,
            json.dumps(record.preference_ids),
            json.dumps(record.params, sort_keys=True),
            json.dumps(record.metrics, sort_keys=True),
            record.created,
        ),
    )


def delete_adapter(db: sqlite3.Connection, name: str) -> None:
    db.execute("DELETE FROM adapters WHERE name = ?", (name,))
