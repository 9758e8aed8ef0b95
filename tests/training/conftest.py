"""Real MIDI files to build datasets from, and a small dataset built from them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import FIXTURE_MIDIS

from midicli.training.dataset import BuildSettings, build
from midicli.training.sources import from_folder

SMALL = BuildSettings(chunk_tokens=150, min_notes=4, copies=2, validation=0.25, test=0.0, seed=0)


def copy_midis(folder: Path) -> Path:
    """The reference MIDI files (Bach, Joplin, a pop arrangement, edge cases) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in FIXTURE_MIDIS:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def small_settings() -> BuildSettings:
    return SMALL


@pytest.fixture
def midi_folder(tmp_path: Path) -> Path:
    return copy_midis(tmp_path / "midi")


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Short sequences (50 notes) from the reference files, one piece held out for validation."""
    folder = copy_midis(tmp_path_factory.mktemp("midi"))
    out = tmp_path_factory.mktemp("data") / "small"
    build(from_folder(folder), out, SMALL)
    return out
