"""compose, continue, infill: the commands that ask a model for music."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from midicli import defaults
from midicli.cli import context
from midicli.cli.options import (
    Adapter,
    BestOf,
    Candidates,
    Device,
    Dtype,
    EngineChoice,
    EngineName,
    Fp8,
    InstrumentLean,
    Instruments,
    Json,
    KeyLean,
    MaxSimultaneous,
    MaxTokens,
    MemoryShare,
    Model,
    Quantize,
    Seed,
    Temperature,
    TopP,
    Url,
)
from midicli.cli.output import (
    err_console,
    generation_progress,
    instruments_text,
    print_json,
    print_table,
)
from midicli.cli.pieces import version_json
from midicli.engines.base import Engine, SamplingParams
from midicli.errors import GenerationError
from midicli.generation import operations
from midicli.generation.span import Constraints
from midicli.music.instruments import parse_instrument, parse_instruments

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


def _drawing(
    chosen: Engine,
    n: int,
    best_of: int | None,
    key_lean: float | None,
    instrument_lean: float | None,
) -> operations.Drawing:
    project = context.session.project(create_default=True)
    return operations.resolve_drawing(
        project, chosen, operations.Drawing(best_of, key_lean, instrument_lean), n
    )


def _constraints(instruments: str | None, max_simultaneous: int | None) -> Constraints:
    if max_simultaneous is not None and max_simultaneous < 1:
        raise GenerationError("--max-simultaneous must be at least 1")
    return Constraints(
        parse_instruments(instruments) if instruments else None,
        max_onsets_per_instant=max_simultaneous,
    )


def compose(
    text: Annotated[
        str | None, typer.Argument(help="What the music should be like.", show_default=False)
    ] = None,
    n: Candidates = defaults.CANDIDATES,
    seed: Seed = None,
    prompts_file: Annotated[
        Path | None, typer.Option(help="A file with one description per line.", dir_okay=False)
    ] = None,
    instruments: Instruments = None,
    seconds: Annotated[
        float, typer.Option(help="About how long each piece lasts, in seconds.")
    ] = defaults.COMPOSE_SECONDS,
    best_of: BestOf = None,
    key_lean: KeyLean = None,
    instrument_lean: InstrumentLean = None,
    max_tokens: MaxTokens = defaults.MAX_NEW_TOKENS,
    temperature: Temperature = None,
    top_p: TopP = None,
    max_simultaneous: MaxSimultaneous = None,
    model: Model = None,
    engine: EngineName = None,
    device: Device = None,
    url: Url = None,
    fp8: Fp8 = False,
    gpu_memory_utilization: MemoryShare = None,
    dtype: Dtype = None,
    quantize: Quantize = None,
    adapter: Adapter = None,
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
    sampling = SamplingParams(n, temperature, top_p, max_tokens, seed)
    limits = _constraints(instruments, max_simultaneous)
    operations.check_sampling(sampling)
    project = context.session.project(create_default=True)
    chosen = EngineChoice(
        model, engine, adapter, device, dtype, url, fp8, gpu_memory_utilization, quantize
    ).load(project)
    drawing = _drawing(chosen, n, best_of, key_lean, instrument_lean)
    created = []
    for description in descriptions:
        with generation_progress(drawing.best_of, max_tokens, seconds) as progress:
            created += operations.compose(
                project, chosen, description, sampling, limits, progress, seconds, drawing
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
    n: Candidates = 1,
    seed: Seed = None,
    instruments: Instruments = None,
    best_of: BestOf = None,
    key_lean: KeyLean = None,
    instrument_lean: InstrumentLean = None,
    max_tokens: MaxTokens = defaults.MAX_NEW_TOKENS,
    temperature: Temperature = None,
    top_p: TopP = None,
    max_simultaneous: MaxSimultaneous = None,
    model: Model = None,
    engine: EngineName = None,
    device: Device = None,
    url: Url = None,
    fp8: Fp8 = False,
    gpu_memory_utilization: MemoryShare = None,
    dtype: Dtype = None,
    quantize: Quantize = None,
    adapter: Adapter = None,
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
    sampling = SamplingParams(n, temperature, top_p, max_tokens, seed)
    limits = _constraints(instruments, max_simultaneous)
    operations.check_sampling(sampling)
    chosen = EngineChoice(
        model, engine, adapter, device, dtype, url, fp8, gpu_memory_utilization, quantize
    ).load(project)
    drawing = _drawing(chosen, n, best_of, key_lean, instrument_lean)
    with generation_progress(drawing.best_of, max_tokens, length) as progress:
        created = operations.continue_piece(
            project, chosen, record.ref, length, text, sampling, limits, progress, drawing
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
    n: Candidates = 1,
    seed: Seed = None,
    instruments: Instruments = None,
    best_of: BestOf = None,
    key_lean: KeyLean = None,
    instrument_lean: InstrumentLean = None,
    max_tokens: MaxTokens = defaults.MAX_NEW_TOKENS,
    temperature: Temperature = None,
    top_p: TopP = None,
    max_simultaneous: MaxSimultaneous = None,
    model: Model = None,
    engine: EngineName = None,
    device: Device = None,
    url: Url = None,
    fp8: Fp8 = False,
    gpu_memory_utilization: MemoryShare = None,
    dtype: Dtype = None,
    quantize: Quantize = None,
    adapter: Adapter = None,
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
    sampling = SamplingParams(n, temperature, top_p, max_tokens, seed)
    limits = _constraints(instruments, max_simultaneous)
    operations.check_sampling(sampling)
    operations.check_range(piece, begin, finish)
    chosen = EngineChoice(
        model, engine, adapter, device, dtype, url, fp8, gpu_memory_utilization, quantize
    ).load(project)
    drawing = _drawing(chosen, n, best_of, key_lean, instrument_lean)
    with generation_progress(drawing.best_of, max_tokens, finish - begin) as progress:
        created = operations.infill(
            project,
            chosen,
            record.ref,
            begin,
            finish,
            text,
            sampling,
            which,
            limits,
            progress,
            drawing,
        )
    _report(created, drawing.best_of, as_json)


def register(app: typer.Typer) -> None:
    app.command()(compose)
    app.command("continue")(continue_)
    app.command()(infill)
