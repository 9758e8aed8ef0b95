"""Option types shared by every command, defined once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from typer import _click as click
from typer.core import TyperGroup, TyperOption

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
Ref = Annotated[str, typer.Argument(help="A piece: NAME (latest version) or NAME@N (version N).", show_default=False)]
OutFile = Annotated[Path, typer.Option("-o", "--output", help="File to write.", dir_okay=False)]


class FlagsWithoutTypes(TyperGroup):
    """A root group whose --help shows no ``<bool>`` beside flags: a flag takes no value."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        for command in _every_command(self):
            for param in [*command.params, command.get_help_option(ctx)]:
                if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
                    param.metavar = ""  # what Typer shows in the type column instead of <bool>
        return super().get_params(ctx)


def _every_command(command: click.Command) -> Iterator[click.Command]:
    yield command
    for child in getattr(command, "commands", {}).values():
        yield from _every_command(child)
