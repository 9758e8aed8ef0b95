"""Tests of the REMI plugin never touch the real user folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def midicli_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("midicli-home")
    monkeypatch.setenv("MIDICLI_HOME", str(home))
    return home
