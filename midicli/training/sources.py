"""Where a dataset's pieces come from: a folder of MIDI files with an optional caption
sidecar, or music21's corpus. Each piece is listed first (cheap) and loaded when the
build reaches it, so progress can count and one unreadable file only skips itself."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from midicli.music.midi_io import read_midi
from midicli.music.piece import Piece
from midicli.training import TrainingError

MIDI_SUFFIXES = (".mid", ".midi")
SIDECARS = (
    "captions.jsonl",
    "captions.csv",
)  # looked for in the folder when no --captions is given
FILE_KEYS = ("file", "path", "location", "name")  # MidiCaps names its files "location"
CAPTION_KEYS = ("caption", "text", "description")


@dataclass(frozen=True)
class Source:
    """A piece to learn from: a unique name, how to load it, and its words."""

    name: str
    load: Callable[[], Piece]
    caption: str | None = None  # the user's caption; None: measured from the music
    genre_words: tuple[str, ...] = ()  # added to a measured caption


@dataclass
class Listing:
    """The pieces found, and what the caption sidecar said that matched no file."""

    sources: list[Source]
    origin: dict[str, object]  # what the manifest records as the dataset's source
    unmatched_captions: list[str] = field(default_factory=list)


def from_folder(folder: Path, captions: Path | None = None, limit: int | None = None) -> Listing:
    """Every MIDI file under ``folder`` (sorted, the first ``limit``), captioned by the
    sidecar (``--captions``, else ``captions.jsonl``/``captions.csv`` in the folder)
    where it names the file by relative path, file name or stem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingError(f"no folder {folder}: give the folder of MIDI files to learn from")
    files = sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file()
    )[:limit]
    if not files:
        raise TrainingError(f"no MIDI files (*.mid, *.midi) under {folder}")
    if captions is None:
        captions = next((folder / name for name in SIDECARS if (folder / name).is_file()), None)
    table = read_captions(captions) if captions is not None else {}
    index = _index(table)
    matched: set[str] = set()
    sources = []
    for path in files:
        relative = path.relative_to(folder).as_posix()
        entry = next((index[k] for k in (relative, path.name, path.stem) if k in index), None)
        if entry is not None:
            matched.add(entry)
        sources.append(Source(relative, partial(read_midi, path), table[entry] if entry else None))
    origin = {
        "kind": "folder",
        "path": str(folder.resolve()),
        "captions": str(captions) if captions else None,
    }
    return Listing(sources, origin, sorted(set(table) - matched))


def from_music21(collections: list[str] | None = None, limit: int | None = None) -> Listing:
    """Works of music21's corpus (all collections, or those named), measured captions
    with each collection's genre words."""
    from midicli.training.music21_corpus import COLLECTIONS, render, works

    chosen = works(collections, limit)
    sources = [
        Source(w.name, partial(render, w), None, COLLECTIONS[w.collection].genre_words)
        for w in chosen
    ]
    rights = {c: COLLECTIONS[c].rights for c in dict.fromkeys(w.collection for w in chosen)}
    return Listing(
        sources, {"kind": "music21", "collections": list(rights), "limit": limit, "rights": rights}
    )


def read_captions(path: Path) -> dict[str, str]:
    """A sidecar's captions by file: JSON lines or CSV with a file column (file, path,
    location or name) and a caption column (caption, text or description)."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"no captions file {path}")
    rows: list[dict[str, object]] = []
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise TrainingError(
                    f"{path.name} line {number} is not JSON ({e.msg}): captions files hold one "
                    "object a line"
                ) from None
            if not isinstance(row, dict):
                raise TrainingError(f"{path.name} line {number} is not a JSON object")
            rows.append(row)
    table: dict[str, str] = {}
    for number, row in enumerate(rows, 1):
        file_key = next((k for k in FILE_KEYS if row.get(k)), None)
        caption_key = next((k for k in CAPTION_KEYS if row.get(k)), None)
        if file_key is None or caption_key is None:
            raise TrainingError(
                f"{path.name} entry {number} needs a file ({', '.join(FILE_KEYS)}) and a caption "
                f"({', '.join(CAPTION_KEYS)})"
            )
        name = str(row[file_key]).replace("\\", "/")
        table[name] = str(row[caption_key]).strip()
    return table


def _index(table: dict[str, str]) -> dict[str, str]:
    """Sidecar entries by their full name, file name and stem (``lmd/1/a.mid``, ``a.mid``,
    ``a``), so a sidecar written for another folder layout still matches; a file name
    or stem that two entries share matches neither."""
    index: dict[str, str] = {}
    shared: set[str] = set()
    for name in table:
        for alias in (Path(name).name, Path(name).stem):
            if index.setdefault(alias, name) != name:
                shared.add(alias)
    for alias in shared:
        del index[alias]
    return index | {name: name for name in table}
