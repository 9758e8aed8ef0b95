"""The user's taste in the project database: preferences, ratings and adapters survive
what happens to the versions they came from, and the schema upgrades old projects."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from midicli.errors import ProjectError
from midicli.music.piece import Note, Piece
from midicli.project import NewVersion, Project, VersionRecord
from midicli.project.records import AdapterRecord, NewPreference
from midicli.project.store import MIGRATIONS, Store


def generated(project: Project, n: int = 2) -> list[VersionRecord]:
    return project.add_versions(
        [
            NewVersion(
                name=f"take-{i}",
                piece=Piece([Note(0.0, 1.0, 60 + i)]),
                operation="compose",
                model_hash="abc",
                manifest={"prompt_ids": [1, 2], "generated_ids": [i, 10_010, 11_060 + i]},
            )
            for i in range(n)
        ]
    )


def judgement(a: VersionRecord, b: VersionRecord, source: str = "prefer") -> NewPreference:
    return NewPreference(
        a,
        b,
        source,
        a.manifest["prompt_ids"],
        a.manifest["generated_ids"],
        b.manifest["generated_ids"],
    )


def adapter(name: str) -> AdapterRecord:
    return AdapterRecord(
        name,
        f"adapters/{name}",
        "lora",
        "tiny",
        "abc",
        [1],
        {"beta": 0.1},
        {"after": None},
        "2026-01-01",
    )


def test_an_upgraded_database_gains_the_taste_tables(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "midicli.db") as db:
        for migration in MIGRATIONS[:2]:
            migration(db, tmp_path)
        db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
        db.executemany(
            "INSERT INTO _migrations VALUES (?, '2026-01-01')",
            [(m.__name__,) for m in MIGRATIONS[:2]],
        )
    db.close()
    store = Store(tmp_path / "midicli.db", tmp_path)
    tables = {
        row[0] for row in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    assert {"preferences", "ratings", "adapters"} <= tables
    assert store.applied_migrations()[-1] == "m003_preferences_ratings_adapters"
    store.close()


def test_a_preference_keeps_its_ids_after_the_versions_are_removed(project: Project) -> None:
    a, b = generated(project)
    [recorded] = project.add_preferences([judgement(a, b)])
    project.remove("take-0")
    [kept] = project.preferences()
    assert (kept.chosen, kept.rejected, kept.chosen_id, kept.rejected_id) == (
        "take-0@1",
        "take-1@1",
        None,
        b.id,
    )
    assert (kept.prompt_ids, kept.chosen_ids, kept.rejected_ids) == (
        [1, 2],
        [0, 10_010, 11_060],
        [1, 10_010, 11_061],
    )
    assert kept.id == recorded.id and kept.model_hash == "abc"


def test_the_same_pair_is_kept_once_and_a_reversed_one_replaces_it(project: Project) -> None:
    a, b = generated(project)
    first = project.add_preferences([judgement(a, b)])
    assert project.add_preferences([judgement(a, b)]) == first
    [flipped] = project.add_preferences([judgement(b, a)])
    assert [(p.chosen, p.rejected) for p in project.preferences()] == [("take-1@1", "take-0@1")]
    project.remove_preference(flipped.id)
    assert project.preferences() == []
    with pytest.raises(ProjectError, match="no preference 99"):
        project.remove_preference(99)


def test_rating_again_replaces_what_the_old_rating_implied(project: Project) -> None:
    a, b = generated(project)
    project.rate(b, 2, [])
    project.rate(a, 5, [judgement(a, b, "rating")])
    assert {r.ref: stars for r, stars in project.ratings()} == {"take-0@1": 5, "take-1@1": 2}
    project.rate(a, 1, [])
    assert (
        project.preferences() == []
        and {r.ref: stars for r, stars in project.ratings()}["take-0@1"] == 1
    )


def test_an_adapter_is_registered_once_and_removed_with_its_files(project: Project) -> None:
    (project.adapters_dir / "warm").mkdir(parents=True)
    (project.adapters_dir / "warm" / "adapter_model.safetensors").write_bytes(b"weights")
    project.register_adapter(adapter("warm"))
    with pytest.raises(ProjectError, match="exists already"):
        project.register_adapter(adapter("warm"))
    project.config.adapter = "warm"
    project.save_config()
    assert project.adapter("warm").params == {"beta": 0.1}
    project.remove_adapter("warm")
    assert project.adapters() == [] and not (project.adapters_dir / "warm").exists()
    assert Project.open(project.root).config.adapter is None  # no longer the default
    with pytest.raises(ProjectError, match="no adapter named 'warm'"):
        project.adapter("warm")
