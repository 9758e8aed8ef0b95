"""model scaffold: random-weight models in the MIDI-LLM layout, for tests and speed."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from midicli.cli.output import console

model_app = typer.Typer(
    help="Make and inspect models in the MIDI-LLM layout.", no_args_is_help=True
)


class Size(StrEnum):
    tiny = "tiny"
    one_b = "1b"


@model_app.command()
def scaffold(
    directory: Annotated[
        Path, typer.Argument(help="Folder to write the model into.", file_okay=False)
    ],
    size: Annotated[
        Size,
        typer.Option(help="tiny: a few MB for tests; 1b: Llama-3.2-1B's shape for speed tests."),
    ] = Size.tiny,
    seed: Annotated[int, typer.Option(help="Seed for the random weights.")] = 0,
) -> None:
    """Write a random-weight model in the MIDI-LLM layout (text vocabulary + 55,030 music tokens).

    Its music is noise, but it loads and generates exactly like the real model.

    Example: [bold]midicli model scaffold models/tiny --size tiny[/bold]
    """
    from midicli.engines.scaffold import scaffold_model

    with console.status(f"Writing a {size.value} model to {directory}…"):
        path = scaffold_model(directory, size.value, seed=seed)
    console.print(
        f"Wrote a random-weight {size.value} model to {path} (use it with --model {path})"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
