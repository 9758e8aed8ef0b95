"""Building a training dataset: pieces → captioned token sequences in three splits.

A dataset is a folder: ``train.jsonl``, ``validation.jsonl`` and ``test.jsonl`` (one
sequence a line: piece, chunk start, augmentation, caption, music ids; test rows are
plain sequences with their chunk as a MIDI file in ``references/``, so the folder is
a prompt set for ``eval``) and ``manifest.json`` (source, settings, captions,
per-split counts, skipped pieces). It is written beside its destination and renamed
into place, so it is whole or absent. Music ids carry no text offset: the same
dataset trains any text tokenizer.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from midicli.errors import MidicliError
from midicli.music.midi_io import write_midi
from midicli.music.piece import Piece
from midicli.training import TrainingError
from midicli.training.sequences import Chunk, chunks, sequences
from midicli.training.sources import Listing, Source

SPLITS = ("train", "validation", "test")
MANIFEST = "manifest.json"
REFERENCES = "references"  # the test chunks as MIDI files
FORMAT = 1

# (pieces done, pieces in all, the piece being read)
BuildProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class BuildSettings:
    """How pieces become sequences; recorded in the manifest."""

    chunk_tokens: int = (
        2040  # music tokens a chunk may hold: leave room for the caption in the context
    )
    min_notes: int = 8  # shorter chunks (stray tails) are left out
    copies: int = 3  # sequences per chunk: the plain one and copies - 1 augmented for infilling
    validation: float = 0.05  # shares of the pieces held out
    test: float = 0.05
    seed: int = 0  # for the augmentations

    def checked(self) -> BuildSettings:
        if self.chunk_tokens < 3:
            raise TrainingError(
                f"--chunk-tokens must hold at least one note (3 tokens), got {self.chunk_tokens}"
            )
        if self.min_notes < 1 or self.copies < 1:
            raise TrainingError("--min-notes and --augment must be at least 1")
        if not (
            0 <= self.validation < 1 and 0 <= self.test < 1 and self.validation + self.test < 1
        ):
            raise TrainingError(
                "--validation and --test are shares of the pieces: each from 0 to below 1, "
                "together below 1"
            )
        return self


def assign_splits(names: list[str], validation: float, test: float) -> dict[str, str]:
    """Each piece's split, by the order of a hash of its name: the same names always
    split the same way, whatever order they come in. With at least three pieces a
    split with a share above 0 gets at least one."""
    ordered = sorted(names, key=lambda name: hashlib.sha256(name.encode()).hexdigest())
    count = len(ordered)

    def size(share: float) -> int:
        return max(round(share * count), 1) if share > 0 and count >= 3 else 0

    held = size(validation), size(test)
    splits = ["validation"] * held[0] + ["test"] * held[1]
    return dict(zip(ordered, splits + ["train"] * (count - len(splits))))


def build(
    listing: Listing,
    out: Path,
    settings: BuildSettings = BuildSettings(),
    force: bool = False,
    progress: BuildProgress | None = None,
) -> dict[str, Any]:
    """Write the dataset of ``listing`` to ``out`` and return its manifest."""
    settings = settings.checked()
    out = Path(out)
    if out.exists() and not force:
        raise TrainingError(
            f"{out} exists already: choose another folder, or pass --force to replace it"
        )
    split_of = assign_splits([s.name for s in listing.sources], settings.validation, settings.test)
    staging = out.parent / f".{out.name}.building"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        pieces, skipped = _write(listing.sources, split_of, settings, staging, progress)
        manifest = _manifest(listing, settings, pieces, skipped)
        if not manifest["splits"]["train"]["sequences"]:
            reasons = "; ".join(f"{s['name']}: {s['reason']}" for s in skipped[:3])
            raise TrainingError(
                f"no piece gave a training sequence ({len(skipped)} "
                f"skipped{': ' + reasons if reasons else ''})"
            )
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _swap(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _write(
    sources: list[Source],
    split_of: dict[str, str],
    settings: BuildSettings,
    folder: Path,
    progress: BuildProgress | None,
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    pieces: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    (folder / REFERENCES).mkdir()
    files = {split: (folder / f"{split}.jsonl").open("w", encoding="utf-8") for split in SPLITS}
    try:
        for done, source in enumerate(sources):
            if progress is not None:
                progress(done, len(sources), source.name)
            try:
                piece = source.load()
            except MidicliError as e:
                skipped.append({"name": source.name, "reason": str(e).splitlines()[0]})
                continue
            found = chunks(piece.notes, settings.chunk_tokens, settings.min_notes)
            if not found:
                skipped.append(
                    {"name": source.name, "reason": f"fewer than {settings.min_notes} notes"}
                )
                continue
            split = split_of[source.name]
            pieces.append(
                _write_piece(source, piece, found, split, settings, folder, files[split], done)
            )
        if progress is not None:
            progress(len(sources), len(sources), "")
    finally:
        for file in files.values():
            file.close()
    return pieces, skipped


def _write_piece(
    source: Source,
    piece: Piece,
    found: list[Chunk],
    split: str,
    settings: BuildSettings,
    folder: Path,
    file: TextIO,
    number: int,
) -> dict[str, Any]:
    """Write a piece's sequences; returns its manifest entry. Test rows are the plain
    sequences only, each with its chunk as a reference MIDI file (what ``eval`` scores
    a model's music against)."""
    rng = random.Random(
        f"{settings.seed}:{source.name}"
    )  # a piece's sequences do not depend on the others
    first_caption = ""
    count = tokens = 0
    for index, chunk in enumerate(found):
        part = excerpt(piece, chunk)
        text = source.caption or _measured_caption(part, source.genre_words)
        first_caption = first_caption or text
        row: dict[str, Any] = {"piece": source.name, "start": chunk.start}
        if split == "test":
            reference = Path(REFERENCES) / f"{number:05d}-{index:03d}.mid"
            write_midi(part, folder / reference)
            row["midi"] = reference.as_posix()
        for sequence in sequences(chunk, 1 if split == "test" else settings.copies, rng):
            row |= {"augmentation": sequence.augmentation, "caption": text, "music": sequence.music}
            file.write(json.dumps(row, separators=(",", ":")) + "\n")
            count += 1
            tokens += len(sequence.music)
    return {
        "name": source.name,
        "split": split,
        "caption": first_caption,
        "captioned": "user" if source.caption else "measured",
        "chunks": len(found),
        "sequences": count,
        "music_tokens": tokens,
    }


def excerpt(piece: Piece, chunk: Chunk) -> Piece:
    """The chunk as a piece of its own, timed from its start, with the tempo and meter
    in force there (what its caption measures)."""

    def from_start(marks: list[Any]) -> list[Any]:
        ruling = [m for m in marks if m.time <= chunk.start][-1:]
        later = [m for m in marks if m.time > chunk.start]
        return [replace(m, time=max(m.time - chunk.start, 0.0)) for m in ruling + later]

    notes = [replace(n, onset=n.onset - chunk.start) for n in chunk.notes]
    tempos = from_start(sorted(piece.tempos, key=lambda t: t.time))
    meters = from_start(sorted(piece.time_signatures, key=lambda s: s.time))
    return Piece(notes=notes, tempos=tempos, time_signatures=meters)


def _measured_caption(piece: Piece, genre_words: tuple[str, ...]) -> str:
    from midicli.music.analysis import features
    from midicli.music.captions import caption

    return caption(features(piece), genre_words=genre_words)


def _manifest(
    listing: Listing,
    settings: BuildSettings,
    pieces: list[dict[str, Any]],
    skipped: list[dict[str, str]],
) -> dict[str, Any]:
    splits = {
        split: {
            key: sum(p[key] for p in pieces if p["split"] == split)
            for key in ("chunks", "sequences", "music_tokens")
        }
        | {"pieces": sum(p["split"] == split for p in pieces)}
        for split in SPLITS
    }
    return {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": listing.origin,
        "settings": asdict(settings),
        "splits": splits,
        "pieces": pieces,
        "skipped": skipped,
        "unmatched_captions": listing.unmatched_captions,
    }


def _swap(staging: Path, out: Path) -> None:
    """Put the finished folder in place of ``out`` (an old one goes only once the new one is in)."""
    old = out.parent / f".{out.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.replace(out, old)
    os.replace(staging, out)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(folder: Path) -> dict[str, Any]:
    """A dataset's manifest, or a TrainingError saying how to make one."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise TrainingError(
            f"{folder} is not a dataset (no {MANIFEST}): make one with `midicli dataset build`"
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise TrainingError(
            f"{folder} was built by another midicli version: rebuild it with `midicli dataset "
            "build`"
        )
    return manifest


def read_split(folder: Path, split: str) -> Iterator[dict[str, Any]]:
    """The rows of one split, in file order, one at a time (a split can be large)."""
    with (Path(folder) / f"{split}.jsonl").open(encoding="utf-8") as file:
        for line in file:
            if line.strip():
                yield json.loads(line)
