"""A pip user gets what a clone has: the package, the bundled mini model and the
top-level prompts/ folder (installed as ``midicli.prompts``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from support import REPO

from midicli.generation.prompt import system_prompt

SETUPTOOLS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_folder_of_the_package_is_listed_for_installation() -> None:
    folders = {
        ".".join(p.relative_to(REPO).parts)
        for p in (REPO / "midicli").rglob("*")
        if p.is_dir() and p.name != "__pycache__"
    }
    assert folders | {"midicli"} <= set(SETUPTOOLS["packages"])


def test_the_prompts_live_at_the_top_level_and_the_composer_reads_them_from_there() -> None:
    assert SETUPTOOLS["package-dir"]["midicli.prompts"] == "prompts"
    assert not (REPO / "midicli" / "prompts").exists()
    assert system_prompt() == (REPO / "prompts" / "composer.txt").read_text(encoding="utf-8")
    assert system_prompt().startswith("You are a world-class composer.")


def test_a_wheel_holds_the_prompts_and_the_mini_model(tmp_path: Path) -> None:
    source = tmp_path / "source"  # built from a copy, so the checkout gets no build/ folder
    for folder in ("midicli", "prompts"):
        shutil.copytree(
            REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    for file in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / file, source / file)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
    )
    [wheel] = (tmp_path / "dist").glob("midicli-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "midicli/prompts/composer.txt",
        "midicli/prompts/examples.txt",
        "midicli/models/mini/model.safetensors",
    } <= names
    assert "midicli/cli/main.py" in names


def test_nothing_in_the_repository_points_at_files_outside_it() -> None:
    """A clone is all a newcomer has: no code, test, benchmark or document may cite the
    team's notes or a folder beside the checkout (the test's own words are split up)."""
    outside = ["../" + "shared", "MIDICLI_" + "SHARED", "DESIGN" + ".md", "NOTES" + ".md"]
    suffixes = {".py", ".md", ".toml", ".sh", ".txt", ".cfg"}
    files = [
        p
        for folder in (
            "midicli",
            "tests",
            "bench",
            "plugins",
            "scripts",
            "prompts",
            "recipes",
            "soundfonts",
        )
        for p in (REPO / folder).rglob("*")
        if p.suffix in suffixes and "__pycache__" not in p.parts
    ]
    files += [
        REPO / name for name in ("README.md", "BENCHMARKS.md", "MODEL_CARD.md", "pyproject.toml")
    ]
    found = [
        f"{p.relative_to(REPO)}: {word}"
        for p in files
        for word in outside
        if word in p.read_text(encoding="utf-8")
    ]
    assert found == []
