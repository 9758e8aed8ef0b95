"""The root command: wires the command groups and turns known errors into one line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from midicli import plugins
from midicli.cli import analysis, context, doctor, edit, generate, model, pieces, plugin_cmds, prefs, render, studio, tokens, train, tune
from midicli.cli.options import FlagsWithoutTypes
from midicli.cli.output import error
from midicli.errors import MidicliError


class _Group(FlagsWithoutTypes):
    """Every command runs through here: a MidicliError becomes one line and exit 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except MidicliError as exc:
            error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            error("interrupted; nothing was stored")
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_Group,
    name="midicli",
    help="Compose MIDI with language models: compose, continue, infill, pick, tune.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    project: Annotated[
        Path | None,
        typer.Option("-C", "--project", help="Work in this project folder instead of searching upwards.", file_okay=False),
    ] = None,
    plugins_dir: Annotated[
        Path | None, typer.Option("--plugins-dir", help="Load every *.py file in this folder as a plugin.", file_okay=False)
    ] = None,
) -> None:
    context.session = context.Session(project_dir=project)
    context.session.load_config_plugins()
    if plugins_dir is not None:
        plugins.load_plugins_dir(plugins_dir)


for group in (pieces, generate, analysis, prefs, tune, train, render, studio, edit, tokens, plugin_cmds, model, doctor):
    group.register(app)
plugins.add_commands(app)


def main() -> None:
    app()
