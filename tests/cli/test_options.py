"""--help reads cleanly: a flag takes no value, so no `<bool>` stands beside it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from midicli.cli.main import app


@pytest.mark.parametrize(
    "command", [[], ["compose"], ["rm"], ["prefs", "rm"], ["model", "scaffold"]]
)
def test_flags_in_help_show_no_bool_type(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=100)
    assert result.exit_code == 0
    assert "--help" in result.stdout
    assert "<bool>" not in result.stdout


def test_options_that_take_values_still_show_their_type() -> None:
    help_text = CliRunner().invoke(app, ["compose", "--help"], terminal_width=100).stdout
    assert "<int>" in help_text and "--json" in help_text


def test_a_generation_option_reads_the_same_in_every_command_that_takes_it() -> None:
    """compose, continue, infill, studio, eval and tune take their model and sampling
    options from one set of definitions: one help text each, wherever it appears."""
    import typer

    group = typer.main.get_command(app)
    helps: dict[str, set[str]] = {}
    for name in ("compose", "continue", "infill", "studio", "eval", "tune"):
        for param in group.commands[name].params:
            helps.setdefault(param.name, set()).add(getattr(param, "help", None))
    shared = (
        "temperature",
        "top_p",
        "max_tokens",
        "best_of",
        "key_lean",
        "instrument_lean",
        "max_simultaneous",
        "model",
        "engine",
        "device",
        "dtype",
        "url",
        "fp8",
        "gpu_memory_utilization",
        "quantize",
        "adapter",
    )
    assert {name: texts for name, texts in helps.items() if name in shared and len(texts) > 1} == {}
    assert set(shared) <= helps.keys()
