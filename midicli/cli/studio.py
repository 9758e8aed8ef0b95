"""studio: compose, choose and edit in one interactive session with the model kept loaded."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from midicli import defaults
from midicli.cli import context
from midicli.cli.options import (
    Candidates,
    EngineChoice,
    MaxSimultaneous,
    MaxTokens,
    Temperature,
    TopP,
    option_groups,
)
from midicli.cli.output import console


def studio(
    ref: Annotated[
        str | None,
        typer.Argument(help="A version to start from: NAME or NAME@N.", show_default=False),
    ] = None,
    n: Candidates = defaults.CANDIDATES,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the first request; each later one uses the next number."),
    ] = None,
    max_tokens: MaxTokens = defaults.MAX_NEW_TOKENS,
    temperature: Temperature = None,
    top_p: TopP = None,
    max_simultaneous: MaxSimultaneous = None,
    choice: EngineChoice = EngineChoice(),
) -> None:
    """An interactive session: compose, continue, infill, keep, undo, edit — the model stays loaded.

    Type [bold]help[/bold] inside for the commands. Piped input runs one command per line.

    Examples:
      [bold]midicli studio[/bold]
      [bold]midicli studio calm-waltz-1 -n 2 --seed 7[/bold]
    """
    from midicli.studio.loop import run
    from midicli.studio.session import Settings, Studio

    settings = Settings(choice, n, max_tokens, temperature, top_p, seed, max_simultaneous)
    session = Studio(context.session.project(create_default=True), settings, ref)
    run(session, console, interactive=sys.stdin.isatty() and sys.stdout.isatty())


def register(app: typer.Typer) -> None:
    app.command()(option_groups(studio))
