"""Fixtures for the project store: a fresh project, small real pieces and candidates to judge."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from midicli.music.piece import Note, Piece
from midicli.project import NewVersion, Project, VersionRecord


def quarter_notes(pitches: list[int], instrument: int = 0) -> Piece:
    """Quarter notes at 120 bpm, one per pitch."""
    return Piece([Note(0.5 * i, 0.5, pitch, instrument) for i, pitch in enumerate(pitches)])


def files_under(root: Path) -> list[str]:
    """Every file and folder under a project, as relative paths."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def make_piece() -> Callable[..., Piece]:
    return quarter_notes


@pytest.fixture
def snapshot() -> Callable[[Path], list[str]]:
    return files_under


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with Project.init(tmp_path / "album") as project:
        yield project


@pytest.fixture
def compose(project: Project) -> Callable[..., list]:
    """Record n composed candidates as new pieces, as `midicli compose` does."""

    def compose(text: str = "a calm waltz", n: int = 2, base: str = "calm-waltz") -> list:
        names = project.unique_names(base, n)
        return project.add_versions(
            [
                NewVersion(
                    name=name,
                    piece=quarter_notes([60 + i, 64 + i, 67 + i]),
                    operation="compose",
                    tokens=[i, 10_000 + 50, 11_000 + 60 + i],
                    text=text,
                    params={"temperature": 1.0, "top_p": 0.98, "max_new_tokens": 2046},
                    seed=7 + i,
                    model="tiny",
                    model_hash="abc123",
                    engine="transformers",
                    timings={"generate_s": 0.5},
                )
                for i, name in enumerate(names)
            ]
        )

    return compose


@pytest.fixture
def candidates(project: Project) -> Callable[..., list[VersionRecord]]:
    """``n`` composed candidates of one request (one batch), all from ``prompt``, as a
    model would have stored them: each carries the manifest (prompt and generated ids)
    that preferences are made of."""

    def make(
        n: int = 3,
        prompt: tuple[int, ...] = (1, 2, 3),
        base: str = "waltz",
        model_hash: str = "abc",
    ) -> list[VersionRecord]:
        names = project.unique_names(base, n)
        return project.add_versions(
            [
                NewVersion(
                    name=name,
                    piece=Piece([Note(0.0, 0.5, 60 + i)]),
                    operation="compose",
                    text="a waltz",
                    model="tiny",
                    model_hash=model_hash,
                    engine="transformers",
                    manifest={
                        "prompt_ids": list(prompt),
                        "generated_ids": [i, 10_050, 11_060 + i],
                        "finish_reason": "length",
                        "candidate": i,
                    },
                )
                for i, name in enumerate(names)
            ]
        )

    return make
