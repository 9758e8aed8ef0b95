"""caption / eval: describing MIDI files in words, and measuring how well a model
follows the words it is given."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from midicli import defaults
from midicli.cli import context
from midicli.cli.options import (
    BestOf,
    EngineChoice,
    InstrumentLean,
    Json,
    KeyLean,
    MaxTokens,
    Seed,
    Temperature,
    TopP,
    option_groups,
)
from midicli.cli.output import err_console, note, print_json, print_table
from midicli.engines.base import Engine, SamplingParams
from midicli.errors import MidicliError
from midicli.evaluation.metrics import Column
from midicli.project.config import CONFIG_NAME
from midicli.project.files import write_text_atomic
from midicli.project.project import Project, find_root

HEADINGS = {"real": "real pieces", "model": "model", "shuffled": "shuffled captions"}
# (field of metrics.Column, label, how to show it)
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("validity", "valid", "rate"),
    ("key_accuracy", "key (tonic and mode)", "rate"),
    ("mode_accuracy", "mode", "rate"),
    ("instrument_precision", "instrument precision", "rate"),
    ("instrument_recall", "instrument recall", "rate"),
    ("tempo_agreement", "tempo word", "rate"),
    ("time_signature_agreement", "time signature", "rate"),
    ("pitch_class_distance", "pitch-class distance to reference", "number"),
    ("notes_per_second", "notes per second", "number"),
    ("polyphony", "notes sounding at once", "number"),
    ("duplicate_share", "notes doubled (same onset)", "rate"),
    ("large_clusters", "pieces with 12+ onsets at once", "rate"),
    ("long_silences", "pieces with a silence > 10 s", "rate"),
    ("horizon_piles", "pieces with notes at 99.99 s", "rate"),
    ("longest_silence", "longest silence, s (mean)", "number"),
    ("pitch_class_entropy", "pitch-class entropy", "number"),
    ("scale_consistency", "scale consistency", "number"),
    ("groove_consistency", "groove consistency", "number"),
    ("empty_beat_rate", "empty-beat rate", "number"),
)


def caption(
    files: Annotated[
        list[Path],
        typer.Argument(help="MIDI files to describe.", dir_okay=False, show_default=False),
    ],
    genre: Annotated[
        list[str] | None,
        typer.Option("--genre", help="A genre word to open the caption with (repeatable)."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Describe MIDI files in MidiCaps-style words, measured from their notes.

    The words name the instruments, key and mode, time signature, tempo (the file's,
    else estimated), texture and length.

    Examples:
      [bold]midicli caption song.mid[/bold]
      [bold]midicli caption a.mid b.mid --genre classical --json[/bold]
    """
    from midicli.music.analysis import features
    from midicli.music.captions import caption as describe
    from midicli.music.midi_io import read_midi
    from midicli.music.musicality import musicality

    described = []
    for file in files:
        if not file.is_file():
            raise MidicliError(f"no such file: {file}")
        piece = read_midi(file)
        measured = features(piece)
        heard = musicality(piece, measured.tempo_bpm, measured.beats_per_bar)
        described.append((file, describe(measured, genre or ()), measured, heard))
    if as_json:
        print_json(
            [
                {"file": str(f), "caption": words, "features": asdict(m), "musicality": asdict(h)}
                for f, words, m, h in described
            ]
        )
    elif len(described) == 1:
        typer.echo(described[0][1])
    else:
        print_table(None, ["file", "caption"], [(f.name, words) for f, words, _, _ in described])


def _engine(choice: EngineChoice) -> Engine:
    """The model to measure: --model, else the model of the project here (if any);
    nothing is created when there is no project."""
    root = context.session.project_dir or find_root()
    return choice.load(
        Project.open(root) if root is not None and (root / CONFIG_NAME).is_file() else None
    )


@contextmanager
def _output_folder(out: Path | None) -> Iterator[Path]:
    """``out`` (new or empty; removed again if the run fails), else a temporary folder."""
    if out is None:
        with tempfile.TemporaryDirectory(prefix="midicli-eval-") as temp:
            yield Path(temp)
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise MidicliError(
            f"{out} already exists and is not an empty folder: choose a new --out folder"
        )
    existed = out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        yield out
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        if existed:
            out.mkdir()
        raise


def _shown(value: float | None, how: str) -> str:
    if value is None:
        return "—"
    return f"{value:.0%}" if how == "rate" else f"{value:.3g}"


def _table(columns: dict[str, Column], title: str) -> None:
    rows = [("pieces", *(str(c.pieces) for c in columns.values()))]
    rows += [
        (label, *(_shown(getattr(c, field), how) for c in columns.values()))
        for field, label, how in FIGURES
    ]
    print_table(title, ["figure", *(HEADINGS[name] for name in columns)], rows)


def eval_(
    prompts: Annotated[
        Path,
        typer.Argument(
            help=(
                "Captions: a text file (one a line), a JSONL file of {caption, midi} rows, or a "
                "dataset folder (its test.jsonl)."
            ),
            show_default=False,
        ),
    ],
    n: Annotated[int, typer.Option("-n", help="Outputs per prompt (and per shuffled prompt).")] = 1,
    seed: Seed = 0,
    limit: Annotated[int | None, typer.Option(help="Use only the first N prompts.")] = None,
    seconds: Annotated[
        float, typer.Option(help="Length of each output, as compose's --seconds.")
    ] = defaults.COMPOSE_SECONDS,
    best_of: BestOf = None,
    key_lean: KeyLean = None,
    instrument_lean: InstrumentLean = None,
    max_tokens: MaxTokens = defaults.MAX_NEW_TOKENS,
    temperature: Temperature = None,
    top_p: TopP = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Keep the generated MIDI files and report.json in this new folder.",
            file_okay=False,
        ),
    ] = None,
    choice: EngineChoice = EngineChoice(),
    as_json: Json = False,
) -> None:
    """Measure text control and musicality: does the music have what each caption
    asks for, and does it sound like music?

    Composes from each caption as `compose` does (same defaults: length, best-of
    ranking, key lean), then checks the music for the key, instruments, tempo word
    and time signature the caption names, and measures what a listener hears:
    doubled notes, onset piles, long silences, notes at the 99.99 s horizon, and
    MusPy's pitch-class entropy, scale and groove consistency and empty-beat rate.

    Figures sit beside the same figures for the real pieces (a JSONL prompt set's
    reference MIDI, scored against its own caption) and for outputs made from
    shuffled captions (the no-text-control baseline). Nothing is stored in a project.

    Examples:
      [bold]midicli eval data/mini/test.jsonl --model models/mini -n 2 --limit 50[/bold]
      [bold]midicli eval prompts.txt --model midi-llm --max-tokens 600 --out eval-run --json[/bold]
    """
    from midicli.evaluation.prompts import load_prompts
    from midicli.evaluation.runner import evaluate
    from midicli.generation.operations import Drawing, check_sampling, resolve_drawing

    chosen_prompts = load_prompts(prompts, limit)
    sampling = check_sampling(SamplingParams(n, temperature, top_p, max_tokens, seed))
    if len(chosen_prompts) < 2:
        note(
            "One prompt has no other caption to shuffle in: the shuffled-caption column stays "
            "empty."
        )
    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with _output_folder(out) as folder:
        loaded = _engine(choice)
        with Progress(*columns, console=err_console, transient=True) as bars:
            task = bars.add_task("eval", total=None)
            drawing = resolve_drawing(None, loaded, Drawing(best_of, key_lean, instrument_lean), n)
            result = evaluate(
                loaded,
                chosen_prompts,
                sampling,
                folder,
                lambda done, total: bars.update(task, completed=done, total=total),
                seconds,
                drawing,
            )
        report = {
            "model": loaded.model_id,
            "engine": loaded.name,
            "n": n,
            "seed": seed,
            "max_tokens": max_tokens,
            "seconds": seconds,
            "best_of": drawing.best_of,
            "key_lean": drawing.key_lean,
            "instrument_lean": drawing.instrument_lean,
            "out": str(out.resolve()) if out else None,
            **result.to_json(keep_paths=out is not None),
        }
        if out is not None:
            write_text_atomic(folder / "report.json", json.dumps(report, indent=2) + "\n")
    if as_json:
        print_json(report)
    else:
        _table(result.columns, f"{len(chosen_prompts)} prompts × {n} outputs, {loaded.model_id}")


def register(app: typer.Typer) -> None:
    app.command()(caption)
    app.command("eval")(option_groups(eval_))
