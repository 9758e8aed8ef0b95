"""edit: a version's notes as text in $EDITOR; saving makes a new version."""

from __future__ import annotations

from typing import Annotated

import typer

from midicli.cli import context
from midicli.cli.options import Json, Ref
from midicli.cli.output import console, note, print_json
from midicli.cli.pieces import version_json
from midicli.errors import MidicliError
from midicli.music.notes_text import TIME_STYLES

Time = Annotated[
    str,
    typer.Option("--time", help=f"How times are written: {' or '.join(TIME_STYLES)} (bar:beat)."),
]


def edit(ref: Ref, time: Time = "seconds", as_json: Json = False) -> None:
    """Edit a version's notes as text in $EDITOR: one note per line.

    Each line is onset, duration, instrument, pitch and velocity. Saving makes a new
    version; a bad line brings the editor back with the problem marked; quitting
    without saving changes nothing.

    Examples:
      [bold]midicli edit calm-waltz-1[/bold]
      [bold]EDITOR=nano midicli edit song@3 --time bars[/bold]
    """
    from midicli.studio.editing import edit_notes

    if time not in TIME_STYLES:
        raise MidicliError(f"--time must be {' or '.join(TIME_STYLES)}, not {time!r}")
    project = context.session.project()
    record = edit_notes(project, project.resolve(ref), time)
    if as_json:
        print_json(
            {
                "created": [record.ref] if record else [],
                "versions": [version_json(record)] if record else [],
            }
        )
    elif record is None:
        note("No changes: nothing stored.")
    else:
        console.print(
            f"Saved [bold]{record.ref}[/bold] ({record.notes} notes, {record.duration:.1f} s)"
        )


def register(app: typer.Typer) -> None:
    app.command()(edit)
