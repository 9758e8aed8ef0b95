"""--help reads cleanly: a flag takes no value, so no `<bool>` stands beside it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from midicli.cli.main import app
from midicli.cli.options import Draw, EngineChoice, option_groups


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


def test_an_option_group_shows_its_options_and_reaches_the_command_whole() -> None:
    """A command taking ``choice: EngineChoice`` and ``draw: Draw`` lists each group's
    options where the parameter stands, and receives the groups built from them."""
    import typer

    seen: list[tuple[str, Draw, EngineChoice]] = []

    def make(name: str, draw: Draw = Draw(n=2), choice: EngineChoice = EngineChoice()) -> None:
        seen.append((name, draw, choice))

    tool = typer.Typer()
    tool.command()(option_groups(make))
    tool.command("other")(lambda: None)  # two commands: `make` is a subcommand
    runner = CliRunner()
    help_text = runner.invoke(tool, ["make", "--help"], terminal_width=200).stdout
    flags = [
        flag
        for flag in ("--seed", "--best-of", "--top-p", "--model", "--quantize")
        if flag in help_text
    ]
    assert flags == ["--seed", "--best-of", "--top-p", "--model", "--quantize"]
    assert help_text.index("--max-simultaneous") < help_text.index("--model")  # in group order
    result = runner.invoke(tool, ["make", "x", "--top-p", "0.9", "--quantize", "int8"])
    assert result.exit_code == 0, result.output
    [(name, draw, choice)] = seen
    assert name == "x" and draw == Draw(n=2, top_p=0.9)  # the group's default instance holds
    assert choice == EngineChoice(quantize="int8")
