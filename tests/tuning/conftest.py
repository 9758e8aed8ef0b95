"""Candidates as a model would have stored them, without running one: each carries
the manifest (prompt and generated ids) that preferences are made of."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from midicli.music.piece import Note, Piece
from midicli.project import NewVersion, Project, VersionRecord

@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with Project.init(tmp_path / "album") as project:
        yield project


@pytest.fixture
def candidates(project: Project) -> Callable[..., list[VersionRecord]]:
    """``n`` composed candidates of one request (one batch), all from ``prompt``."""

    def make(n: int = 3, prompt: tuple[int, ...] = (1, 2, 3), base: str = "waltz", model_hash: str = "abc") -> list[VersionRecord]:
        names = project.unique_names(base, n)
        return project.add_versions([
            NewVersion(
                name=name, piece=Piece([Note(0.0, 0.5, 60 + i)]), operation="compose", text="a waltz",
                model="tiny", model_hash=model_hash, engine="transformers",
                manifest={"prompt_ids": list(prompt), "generated_ids": [i, 10_050, 11_060 + i], "finish_reason": "length",
                          "candidate": i},
            )
            for i, name in enumerate(names)
        ])

    return make
