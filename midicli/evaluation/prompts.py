"""Prompt sets: captions to generate from, each with an optional reference piece.

A plain text file holds one caption a line (``#`` starts a comment). A JSON Lines file
(``.jsonl``) holds ``{"caption": ..., "midi": PATH}`` rows, the shape of the test split
``midicli dataset build`` writes; relative MIDI paths are read from the file's folder.
A folder stands for the ``test.jsonl`` inside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from midicli.errors import MidicliError

TEST_SPLIT = "test.jsonl"


class PromptSetError(MidicliError):
    """A prompt set that is missing, empty or malformed."""


@dataclass(frozen=True)
class Prompt:
    caption: str
    reference: Path | None = None  # the real piece the caption describes


def load_prompts(path: Path, limit: int | None = None) -> list[Prompt]:
    """The prompts of a text file, a JSON Lines file or a dataset folder, the first ``limit`` of
    them."""
    path = Path(path)
    if path.is_dir():
        if not (path / TEST_SPLIT).is_file():
            raise PromptSetError(
                f"{path} is a folder without a {TEST_SPLIT}: pass a prompts file or a dataset "
                "folder"
            )
        path = path / TEST_SPLIT
    if not path.is_file():
        raise PromptSetError(f"no such prompts file: {path}")
    if limit is not None and limit < 1:
        raise PromptSetError(f"--limit must be at least 1, got {limit}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise PromptSetError(f"cannot read {path}: {error}") from None
    numbered = [
        (number, line.strip())
        for number, line in enumerate(lines, 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    rows = numbered[:limit] if limit else numbered
    if path.suffix == ".jsonl":
        prompts = [_json_row(path, number, line) for number, line in rows]
    else:
        prompts = [Prompt(line) for _, line in rows]
    if not prompts:
        raise PromptSetError(f"{path} holds no prompts")
    return prompts


def _json_row(path: Path, number: int, line: str) -> Prompt:
    where = f"{path.name} line {number}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise PromptSetError(f"{where} is not JSON ({error.msg})") from None
    if (
        not isinstance(row, dict)
        or not isinstance(row.get("caption"), str)
        or not row["caption"].strip()
    ):
        raise PromptSetError(f'{where} needs a "caption" string')
    midi = row.get("midi")
    if midi is None:
        return Prompt(row["caption"].strip())
    if not isinstance(midi, str):
        raise PromptSetError(f'{where}: "midi" must be a path')
    reference = Path(midi) if Path(midi).is_absolute() else path.parent / midi
    if not reference.is_file():
        raise PromptSetError(f"{where}: no such MIDI file {reference}")
    return Prompt(row["caption"].strip(), reference)
