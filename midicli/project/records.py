"""Plain records the project hands out and takes in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from midicli.music.piece import Piece
from midicli.project.refs import format_ref

OPERATIONS = ("import", "compose", "continue", "infill", "edit")


@dataclass(frozen=True)
class VersionRecord:
    """One stored version of a piece and everything needed to make it again."""

    id: int
    piece: str
    number: int
    operation: str
    created: str
    midi_path: str  # relative to the project root
    tokens_path: str | None = None
    parent_id: int | None = None
    parent: str | None = None  # the parent's reference, e.g. "calm-waltz-1@2"
    text: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    model: str | None = None
    model_hash: str | None = None
    engine: str | None = None
    adapter: str | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    batch: str | None = None
    duration: float | None = None
    notes: int | None = None
    instruments: list[int] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return format_ref(self.piece, self.number)


@dataclass
class NewVersion:
    """A version to record. Without a parent it starts a new piece named ``name``;
    with one it becomes the next version of ``name``. Versions recorded together share
    a ``batch`` (one is made up when None) so sibling candidates can be found."""

    name: str
    piece: Piece
    operation: str
    tokens: list[int] | None = None
    parent: VersionRecord | None = None
    text: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    model: str | None = None
    model_hash: str | None = None
    engine: str | None = None
    adapter: str | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    batch: str | None = None


@dataclass(frozen=True)
class PieceSummary:
    """A line of ``midicli list``: a piece and its latest version."""

    name: str
    versions: int
    latest: int
    operation: str
    created: str
    duration: float | None
    notes: int | None
    instruments: list[int]

    @property
    def ref(self) -> str:
        return format_ref(self.name, self.latest)
