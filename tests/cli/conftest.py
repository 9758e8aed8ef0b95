"""A real CLI runner over a real project folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from midicli.cli.main import app


class Cli:
    """Runs midicli commands in one project the way a user types them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Any:
        result = self.runner.invoke(app, ["-C", str(self.root), *args])
        if ok:
            assert result.exit_code == 0, (
                f"midicli {' '.join(args)} failed: {result.output}{result.exception!r}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def fails(self, *args: str) -> str:
        """The one-line error of a command that must fail with exit code 2."""
        result = self(*args, ok=False)
        assert result.exit_code == 2, (
            f"expected exit 2, got {result.exit_code}: {result.output}{result.exception!r}"
        )
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        assert "Traceback" not in result.output
        return lines[0]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    root = tmp_path / "songs"
    assert CliRunner().invoke(app, ["init", str(root)]).exit_code == 0
    return Cli(root)
