"""Paths and helpers shared by test modules (importable: pytest puts tests/ on the path)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Reference MIDI files and their AMT tokens (see tests/data/amt/README.md).
AMT_FIXTURES = REPO / "tests" / "data" / "amt"
FIXTURE_MIDIS = sorted(p for p in AMT_FIXTURES.glob("*.mid") if not p.name.endswith(".decoded.mid"))


def files_under(root: Path) -> list[str]:
    """Every file and folder under a folder, as sorted relative paths (to prove nothing changed)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# A recipe's dataset and model tables for the folder ``midi`` beside it (``midi_folder``): short
# chunks, a tiny model.
SMALL_RECIPE = """
[dataset]
source = "midi"
chunk_tokens = 150
min_notes = 4
augment = 1
validation = 0.25
test = 0
[model]
size = "tiny"
"""
