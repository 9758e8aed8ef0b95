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
    a ``batch`` (one is made up when None) so sibling candidates can be found. With a
    ``naming`` other than "exact", ``name`` is a stem and the free name is chosen as it
    is stored, under the write lock, so concurrent writers never pick the same one."""

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
    naming: str = (
        "exact"  # or NAMING_NUMBERED / NAMING_FREE: the name is a stem, see Project.add_versions
    )


NAMING_NUMBERED = "numbered"  # stem-1, stem-2, …: the first free one
NAMING_FREE = "free"  # the stem itself when free, else numbered


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


PREFERENCE_SOURCES = ("pick", "prefer", "rating")
ADAPTER_METHODS = ("lora", "full")


@dataclass(frozen=True)
class NewPreference:
    """A judgement to record: ``chosen`` sounded better than ``rejected``, both written
    by the model from the same prompt ids. The ids are copied into the record so
    training sees exactly what the model produced, even after the versions are removed."""

    chosen: VersionRecord
    rejected: VersionRecord
    source: str
    prompt_ids: list[int]
    chosen_ids: list[int]  # music ids, as in the version manifest's ``generated_ids``
    rejected_ids: list[int]


@dataclass(frozen=True)
class PreferenceRecord:
    """A stored judgement. ``chosen_id``/``rejected_id`` become None when the version is
    removed; the refs and ids stay, so the pair can still be trained on."""

    id: int
    chosen: str
    rejected: str
    chosen_id: int | None
    rejected_id: int | None
    source: str
    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]
    model: str | None
    model_hash: str | None
    created: str


@dataclass(frozen=True)
class AdapterRecord:
    """A tuned adapter kept in the project: where its weights are, the base model it
    applies to, and the preferences, hyper-parameters and metrics of its training."""

    name: str
    path: str  # relative to the project root
    method: str  # "lora" (a PEFT adapter) or "full" (whole tuned weights)
    base_model: str
    base_hash: str
    preference_ids: list[int]
    params: dict[str, Any]
    metrics: dict[str, Any]
    created: str
