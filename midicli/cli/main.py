"""The root command: wires the command groups and turns known errors into one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # Typer vendors its own Click

from midicli import plugins
from midicli.cli import (
    analysis,
    context,
    doctor,
    edit,
    generate,
    model,
    pieces,
    plugin_cmds,
    prefs,
    render,
    studio,
    tokens,
    train,
    tune,
)
from midicli.cli.options import FlagsWithoutTypes
from midicli.cli.output import error, note
from midicli.defaults import TRUST_PICKLE_ENV
from midicli.errors import MidicliError


class _Group(FlagsWithoutTypes):
    """Every command runs through here: a MidicliError, an OS error or a usage error
    becomes one line and exit 2 (``--help`` stays rich)."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        with _one_line_errors():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _one_line_errors(), _pickle_trusted(bool(ctx.params.get("trust_pickle"))):
            _load_late_plugins(self, ctx.params.get("project"), ctx.params.get("plugins_dir"))
            return super().invoke(ctx)


@contextmanager
def _pickle_trusted(trusted: bool) -> Iterator[None]:
    """``--trust-pickle`` for this one command (the model loaders read the variable)."""
    before = os.environ.get(TRUST_PICKLE_ENV)
    if trusted:
        os.environ[TRUST_PICKLE_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(TRUST_PICKLE_ENV, None)
        else:
            os.environ[TRUST_PICKLE_ENV] = before


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except MidicliError as exc:
        error(exc)
        raise typer.Exit(2) from None
    except NoArgsIsHelpError:
        raise  # a bare group: Typer prints its help
    except UsageError as exc:
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        error(exc.format_message().splitlines()[0] + where)
        raise typer.Exit(2) from None
    except typer.TyperException as exc:
        error(exc.format_message().splitlines()[0])
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        error("interrupted; nothing was stored")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        raise
    except OSError as exc:  # a read-only project, a full disk, a folder one cannot enter
        where = f": {exc.filename}" if exc.filename else ""
        error(f"{exc.strerror or exc}{where}")
        raise typer.Exit(2) from None


def _load_late_plugins(
    group: FlagsWithoutTypes, project: Path | None, plugins_dir: Path | None
) -> None:
    """Plugins of the project's midicli.toml and of ``--plugins-dir`` load once the root
    options are parsed, before the sub-command is looked up, so their commands exist too."""
    skipped = context.load_config_plugins(project)
    if plugins_dir is not None:
        plugins.load_plugins_dir(plugins_dir)
    late = typer.Typer()
    plugins.add_commands(late)
    if late.registered_commands or late.registered_groups:
        for name, command in typer.main.get_group(late).commands.items():
            group.add_command(command, name)
    if skipped:
        names = ", ".join(Path(path).name for path in skipped)
        note(
            f"Not running {len(skipped)} untrusted project plugin(s) ({names}): "
            "see `midicli plugins`, allow with `midicli plugins trust`."
        )


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
        typer.Option(
            "-C",
            "--project",
            help="Work in this project folder instead of searching upwards.",
            file_okay=False,
        ),
    ] = None,
    plugins_dir: Annotated[
        Path | None,
        typer.Option(
            "--plugins-dir",
            help="Load every *.py file in this folder as a plugin.",
            file_okay=False,
        ),
    ] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option(
            "--trust-pickle",
            help=(
                "Also load pickled weights (*.bin), which can run code: only from sources you "
                "trust."
            ),
        ),
    ] = False,
) -> None:
    context.session = context.Session(project_dir=project)


for group in (
    pieces,
    generate,
    analysis,
    prefs,
    tune,
    train,
    render,
    studio,
    edit,
    tokens,
    plugin_cmds,
    model,
    doctor,
):
    group.register(app)
plugins.add_commands(app)


def main() -> None:
    app()
