"""Shared test setup: no test touches the real user folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from midicli.engines.models import LoadedModel, load_model
from midicli.engines.scaffold import scaffold_model


@pytest.fixture(autouse=True)
def midicli_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point $MIDICLI_HOME (default project, user plugins, caches) at a fresh temp folder."""
    home = tmp_path_factory.mktemp("midicli-home")
    monkeypatch.setenv("MIDICLI_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scaffold written by the same code as `midicli model scaffold DIR --size tiny`."""
    return scaffold_model(tmp_path_factory.mktemp("models") / "tiny", "tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> LoadedModel:
    """The tiny scaffold loaded on the CPU (tests must not mutate it)."""
    return load_model(tiny_model_dir, device="cpu")
