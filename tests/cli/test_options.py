"""--help reads cleanly: a flag takes no value, so no `<bool>` stands beside it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from midicli.cli.main import app


@pytest.mark.parametrize("command", [[], ["compose"], ["rm"], ["prefs", "rm"], ["model", "scaffold"]])
def test_flags_in_help_show_no_bool_type(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=100)
    assert result.exit_code == 0
    assert "--help" in result.stdout
    assert "<bool>" not in result.stdout


def test_options_that_take_values_still_show_their_type() -> None:
    help_text = CliRunner().invoke(app, ["compose", "--help"], terminal_width=100).stdout
    assert "<int>" in help_text and "--json" in help_text
