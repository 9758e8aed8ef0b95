"""Project and piece commands: init, import, list, show, history, export, rm."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from midicli.cli import context
from midicli.cli.options import Json, Ref
from midicli.cli.output import Col, console, instruments_text, note, print_json, print_table
from midicli.errors import MidicliError
from midicli.music.instruments import instrument_name
from midicli.project import Project
from midicli.project.records import VersionRecord


def infill_range(record: VersionRecord) -> str | None:
    """What an infill rewrote: its time range, and its one instrument if it had one."""
    params = record.params
    if record.operation != "infill" or not {"start", "end"} <= params.keys():
        return None
    instrument = params.get("instrument")
    only = f", {instrument_name(int(instrument))} only" if instrument is not None else ""
    return f"{float(params['start']):.2f}–{float(params['end']):.2f} s{only}"


def version_json(record: VersionRecord) -> dict[str, Any]:
    return {
        "ref": record.ref,
        "piece": record.piece,
        "version": record.number,
        "operation": record.operation,
        "parent": record.parent,
        "text": record.text,
        "created": record.created,
        "duration": record.duration,
        "notes": record.notes,
        "instruments": [instrument_name(i) for i in record.instruments],
        "model": record.model,
        "model_hash": record.model_hash,
        "engine": record.engine,
        "adapter": record.adapter,
        "precision": record.manifest.get("precision"),
        "seed": record.seed,
        "params": record.params,
        "timings": record.timings,
        "midi": record.midi_path,
        "tokens": record.tokens_path,
    }


def init(
    directory: Annotated[
        Path,
        typer.Argument(help="Folder for the new project (created if missing).", file_okay=False),
    ] = Path("."),
    model: Annotated[
        str | None,
        typer.Option(help="Model: a preset (mini, midi-llm), hub id or local folder."),
    ] = None,
    engine: Annotated[
        str | None, typer.Option(help="Engine: transformers (default), vllm or server.")
    ] = None,
) -> None:
    """Start a project: midicli.toml, the database and a pieces/ folder.

    Without --model, a machine with a CUDA GPU gets midi-llm; others the bundled mini,
    which composes offline in seconds on a CPU.

    Example: [bold]midicli init songs --model ./models/tiny[/bold]
    """
    if model is None:
        from midicli.engines.models import default_model

        model = default_model()
    project = Project.init(directory, model=model, engine=engine)
    console.print(
        f"Initialised a midicli project in {project.root} (model: {project.config.model})"
    )


def import_(
    file: Annotated[Path, typer.Argument(help="A MIDI file.", dir_okay=False)],
    name: Annotated[
        str | None, typer.Option(help="Piece name (default: from the file name).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Import a MIDI file (or notes text, FILE.notes) as a new piece (version 1).

    Examples: [bold]midicli import song.mid --name song[/bold] · [bold]midicli import sketch.notes[/bold]
    """  # noqa: E501 - rich help keeps its line breaks
    from midicli.music.notes_text import SUFFIX

    if not file.is_file():
        raise MidicliError(f"no such file: {file}")
    project = context.session.project(create_default=True)
    if file.suffix.lower() == SUFFIX:
        from midicli.studio.editing import import_notes

        record = import_notes(project, file, name)
    else:
        record = project.import_midi(file, name=name)
    if as_json:
        print_json({"created": [record.ref], "versions": [version_json(record)]})
    else:
        console.print(
            f"Imported {file.name} as [bold]{record.ref}[/bold] ({record.notes} notes, "
            f"{record.duration:.1f} s)"
        )


def list_(as_json: Json = False) -> None:
    """List the pieces of the project with their latest version."""
    summaries = context.session.project().pieces()
    if as_json:
        print_json(
            [
                {
                    "name": s.name,
                    "ref": s.ref,
                    "versions": s.versions,
                    "operation": s.operation,
                    "created": s.created,
                    "duration": s.duration,
                    "notes": s.notes,
                    "instruments": [instrument_name(i) for i in s.instruments],
                }
                for s in summaries
            ]
        )
        return
    if not summaries:
        note(
            'No pieces yet: try `midicli compose "a calm piano waltz"` or `midicli import '
            "FILE.mid`."
        )
        return
    columns = [
        "piece",
        "vers.",
        Col("latest", "keep"),
        "secs",
        "notes",
        Col("instruments", "cut", drop=5),
        Col("created", drop=6),
    ]
    print_table(
        None,
        columns,
        [
            (
                s.name,
                s.versions,
                f"@{s.latest} {s.operation}",
                f"{s.duration or 0:.1f}",
                s.notes,
                instruments_text(s.instruments),
                s.created[:16].replace("T", " "),
            )
            for s in summaries
        ],
    )


def show(ref: Ref, as_json: Json = False) -> None:
    """Show one version: how it was made and what is in it.

    Example: [bold]midicli show calm-waltz-1@2[/bold]
    """
    project = context.session.project()
    record = project.resolve(ref)
    if as_json:
        print_json(version_json(record))
        return
    piece = project.load_piece(record)
    fields = [
        ("operation", record.operation),
        ("parent", record.parent or "—"),
        ("text", record.text or "—"),
        ("model", record.model or "—"),
        ("engine", record.engine or "—"),
        ("precision", record.manifest.get("precision") or "—"),
        ("seed", record.seed),
        ("length", f"{piece.duration:.2f} s, {len(piece.notes)} notes"),
        ("file", record.midi_path),
    ]
    if (rewritten := infill_range(record)) is not None:
        fields.insert(1, ("rewrote", rewritten))
    print_table(record.ref, ["", ""], fields)
    rows = []
    for instrument in piece.instruments:
        notes = [n for n in piece.notes if n.instrument == instrument]
        rows.append(
            (
                instrument_name(instrument),
                len(notes),
                f"{min(n.pitch for n in notes)}–{max(n.pitch for n in notes)}",
                f"{min(n.onset for n in notes):.2f}",
                f"{max(n.end for n in notes):.2f}",
            )
        )
    print_table(None, ["instrument", "notes", "pitches", "from s", "to s"], rows)


def history(
    name: Annotated[str, typer.Argument(help="A piece name.")], as_json: Json = False
) -> None:
    """List every version of a piece, oldest first."""
    project = context.session.project()
    records = project.history(project.resolve(name).piece)
    if as_json:
        print_json([version_json(r) for r in records])
        return
    print_table(
        name,
        ["version", "operation", "parent", "text", "secs", "notes", "created"],
        [
            (
                f"@{r.number}",
                r.operation,
                r.parent or "—",
                r.text or "",
                f"{r.duration or 0:.1f}",
                r.notes,
                r.created[:16].replace("T", " "),
            )
            for r in records
        ],
    )


def export(
    ref: Ref,
    out: Annotated[
        Path,
        typer.Argument(
            help="The file to write ('-' with --to notes: standard output).", dir_okay=False
        ),
    ],
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="mid, or notes (text, one note per line); default: from OUT's suffix."
        ),
    ] = None,
    time: Annotated[
        str, typer.Option("--time", help="For notes: times in seconds or bars (bar:beat).")
    ] = "seconds",
) -> None:
    """Write a version as a MIDI file, or as notes text.

    Examples: [bold]midicli export calm-waltz-1 waltz.mid[/bold] ·
    [bold]midicli export calm-waltz-1 waltz.notes --time bars[/bold]
    """
    from midicli.music.midi_io import midi_bytes
    from midicli.music.notes_text import SUFFIX, to_text
    from midicli.project.files import write_atomic, write_text_atomic

    fmt = (to or ("notes" if out.suffix.lower() == SUFFIX else "mid")).lower().lstrip(".")
    if fmt not in ("mid", "midi", "notes"):
        raise MidicliError(f"--to must be mid or notes, not {to!r}")
    project = context.session.project()
    record = project.resolve(ref)
    piece = project.load_piece(record)
    if fmt == "notes" and str(out) == "-":
        sys.stdout.write(to_text(piece, time, record.ref))
        return
    try:
        if fmt == "notes":
            write_text_atomic(out, to_text(piece, time, record.ref))
        else:
            write_atomic(out, midi_bytes(piece))
    except OSError as exc:
        raise MidicliError(f"cannot write {out}: {exc.strerror or exc}") from None
    console.print(f"Wrote {out}")


def rm(
    ref: Annotated[
        str,
        typer.Argument(
            help="NAME@N removes version N only; NAME removes the whole piece, every version.",
            show_default=False,
        ),
    ],
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove one version (NAME@N) or a whole piece with every version (NAME), and their files.

    Example: [bold]midicli rm calm-waltz-1@2[/bold] (version 2 only), [bold]midicli rm calm-waltz-1[/bold] (all of it)
    """  # noqa: E501 - rich help keeps its line breaks
    project = context.session.project()
    if "@" in ref:
        removed = what = ref
    else:
        piece = project.resolve(ref).piece
        removed = f"{piece} and all its versions"
        what = f"{removed} (rm {piece}@N removes one)"
    if not yes:
        if not sys.stdin.isatty():
            raise MidicliError(f"not removing {what} without confirmation: pass --yes")
        if not typer.confirm(f"Remove {what}?", default=False):
            raise typer.Exit(1)
    project.remove(ref)
    console.print(f"Removed {removed}")


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command("import")(import_)
    app.command("list")(list_)
    app.command()(show)
    app.command()(history)
    app.command()(export)
    app.command()(rm)
