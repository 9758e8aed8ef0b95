"""compose, continue, infill: the commands that ask a model for music."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from midicli import defaults
from midicli.cli import context
from midicli.cli.options import Draw, EngineChoice, Json, option_groups
from midicli.cli.output import (
    err_console,
    generation_progress,
    instruments_text,
    print_json,
    print_table,
)
from midicli.cli.pieces import version_json
from midicli.engines.base import Engine
from midicli.errors import GenerationError
from midicli.generation import operations
from midicli.generation.span import Constraints
from midicli.music.instruments import parse_instrument, parse_instruments
from midicli.project import Project

Text = Annotated[
    str | None,
    typer.Argument(
        help="Words for the model (default: the piece's own description).", show_default=False
    ),
]


def _report(created: list[operations.Created], drawn: int, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "created": [c.record.ref for c in created],
                "drawn": drawn,
                "candidates": [
                    {
                        **version_json(c.record),
                        "new_notes": len(c.candidate.notes),
                        "ranking": asdict(c.ranking) if c.ranking else None,
                    }
                    for c in created
                ],
            }
        )
        return
    rows = []
    for c in created:
        t = c.record.timings
        score = f"{c.ranking.score:.2f}" if c.ranking else "—"
        rows.append(
            (
                c.record.ref,
                score,
                c.ranking.why if c.ranking else "",
                f"{c.record.duration or 0:.1f}",
                c.record.notes,
                instruments_text(c.record.instruments),
                t.get("tokens_per_second") or "—",
            )
        )
    title = f"best {len(created)} of {drawn} drawn" if drawn > len(created) else None
    print_table(title, ["candidate", "score", "why", "secs", "notes", "instruments", "tok/s"], rows)


def _prepare(project: Project, draw: Draw, choice: EngineChoice) -> tuple[Engine, Constraints]:
    """Check the drawing options, then load the engine: bad settings fail before a slow load."""
    if draw.max_simultaneous is not None and draw.max_simultaneous < 1:
        raise GenerationError("--max-simultaneous must be at least 1")
    limits = Constraints(
        parse_instruments(draw.instruments) if draw.instruments else None,
        max_onsets_per_instant=draw.max_simultaneous,
    )
    operations.check_sampling(draw.sampling())
    return choice.load(project), limits


def _drawing(project: Project, chosen: Engine, draw: Draw) -> operations.Drawing:
    asked = operations.Drawing(draw.best_of, draw.key_lean, draw.instrument_lean)
    return operations.resolve_drawing(project, chosen, asked, draw.n)


def compose(
    text: Annotated[
        str | None, typer.Argument(help="What the music should be like.", show_default=False)
    ] = None,
    prompts_file: Annotated[
        Path | None, typer.Option(help="A file with one description per line.", dir_okay=False)
    ] = None,
    seconds: Annotated[
        float, typer.Option(help="About how long each piece lasts, in seconds.")
    ] = defaults.COMPOSE_SECONDS,
    draw: Draw = Draw(),
    choice: EngineChoice = EngineChoice(),
    render: Annotated[
        str | None,
        typer.Option(
            help="Also render each candidate into the project: wav, flac, mp3, ogg, png, musicxml…"
        ),
    ] = None,
    edit: Annotated[
        bool,
        typer.Option("-e", "--edit", help="Write the description in $EDITOR (starting from TEXT)."),
    ] = False,
    as_json: Json = False,
) -> None:
    """Compose new pieces from a description: one piece per candidate.

    With --best-of K it draws K candidates and keeps the best -n, ranked by
    how well each follows the words (key, instruments, tempo, meter) and how
    much it sounds like music.

    Examples:
      [bold]midicli compose "a calm piano waltz" -n 4 --seed 1[/bold]
      [bold]midicli compose "a sad cello solo in D minor" -n 2 --best-of 8 --seconds 45[/bold]
      [bold]midicli compose "upbeat jazz" --instruments "piano,acoustic bass,drums"[/bold]
      [bold]midicli compose "a sad cello solo" -n 2 --render wav[/bold]
      [bold]midicli compose -e[/bold]   (a long description, written in $EDITOR)
    """
    if edit:
        from midicli.studio.editing import edit_description

        text = edit_description(text or "")
        if text is None:
            raise GenerationError("no description written in the editor: nothing composed")
    descriptions = [text] if text else []
    if prompts_file is not None:
        if not prompts_file.is_file():
            raise GenerationError(f"no such file: {prompts_file}")
        descriptions += [
            line.strip()
            for line in prompts_file.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    if not descriptions:
        raise GenerationError(
            'say what to compose: midicli compose "a calm piano waltz" (or --prompts-file F)'
        )
    project = context.session.project(create_default=True)
    chosen, limits = _prepare(project, draw, choice)
    drawing = _drawing(project, chosen, draw)
    created = []
    for description in descriptions:
        with generation_progress(drawing.best_of, draw.max_tokens, seconds) as progress:
            created += operations.compose(
                project, chosen, description, draw.sampling(), limits, progress, seconds, drawing
            )
    if render is not None:
        from midicli.render.core import render_version

        with err_console.status(f"Rendering {len(created)} candidates to {render}…"):
            for c in created:
                render_version(project, c.record, render)
    _report(created, drawing.best_of, as_json)


def continue_(
    ref: Annotated[str, typer.Argument(help="The piece to extend: NAME or NAME@N.")],
    text: Text = None,
    seconds: Annotated[
        str, typer.Option(help="How much to add: seconds (20) or bars (8b).")
    ] = "20",
    draw: Draw = Draw(n=1),
    choice: EngineChoice = EngineChoice(),
    as_json: Json = False,
) -> None:
    """Extend a piece from its end; each candidate becomes a new version of it.

    It fills the asked length with the piece's instruments (--instruments chooses others).

    Examples:
      [bold]midicli continue calm-waltz-1 --seconds 30[/bold]
      [bold]midicli continue calm-waltz-1@2 "now louder, with drums" --seconds 8b -n 3[/bold]
    """
    from midicli.music.meter import parse_length

    project = context.session.project()
    record = project.resolve(ref)
    piece = project.load_piece(record)
    length = parse_length(seconds, piece, piece.duration)
    chosen, limits = _prepare(project, draw, choice)
    drawing = _drawing(project, chosen, draw)
    with generation_progress(drawing.best_of, draw.max_tokens, length) as progress:
        created = operations.continue_piece(
            project, chosen, record.ref, length, text, draw.sampling(), limits, progress, drawing
        )
    _report(created, drawing.best_of, as_json)


def infill(
    ref: Annotated[str, typer.Argument(help="The piece to change: NAME or NAME@N.")],
    text: Text = None,
    start: Annotated[
        str, typer.Option(help="Start: seconds (12.5), a bar (9b) or bar:beat (9:3).")
    ] = ...,
    end: Annotated[str, typer.Option(help="End (not included), in the same forms.")] = ...,
    instrument: Annotated[
        str | None, typer.Option(help="Rewrite only this instrument's part in the range.")
    ] = None,
    draw: Draw = Draw(n=1),
    choice: EngineChoice = EngineChoice(),
    as_json: Json = False,
) -> None:
    """Rewrite a time range (or one instrument in it); everything else stays as it is.

    Examples:
      [bold]midicli infill calm-waltz-1 --start 9b --end 17b "make it calmer"[/bold]
      [bold]midicli infill song --start 10 --end 20 --instrument bass -n 4[/bold]
    """
    from midicli.music.meter import parse_time

    project = context.session.project()
    record = project.resolve(ref)
    piece = project.load_piece(record)
    begin, finish = parse_time(start, piece), parse_time(end, piece)
    which = parse_instrument(instrument) if instrument is not None else None
    operations.check_range(piece, begin, finish)
    chosen, limits = _prepare(project, draw, choice)
    drawing = _drawing(project, chosen, draw)
    with generation_progress(drawing.best_of, draw.max_tokens, finish - begin) as progress:
        created = operations.infill(
            project,
            chosen,
            record.ref,
            begin,
            finish,
            text,
            draw.sampling(),
            which,
            limits,
            progress,
            drawing,
        )
    _report(created, drawing.best_of, as_json)


def register(app: typer.Typer) -> None:
    app.command()(option_groups(compose))
    app.command("continue")(option_groups(continue_))
    app.command()(option_groups(infill))
