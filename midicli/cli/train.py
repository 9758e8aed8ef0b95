"""dataset and train: training data from MIDI files or music21's corpus, and
next-token training of models in the MIDI-LLM layout on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from midicli.cli.options import Device, Json
from midicli.cli.output import console, err_console, error, note, print_json, print_table
from midicli.training import TrainingError
from midicli.training.dataset import SPLITS, BuildSettings
from midicli.training.run import TrainEvent
from midicli.training.settings import DEFAULT_LEARNING_RATES, TrainSettings

_BUILD = BuildSettings()
_TRAIN = TrainSettings()
_STAGES = {"preparing": "Preparing the model and the sequences…", "saving": "Saving the model…"}
# a recipe's [finish] pass reports "finishing", its [keys] lesson "keys"
_PASSES = {"training": "Training", "finishing": "Finishing", "keys": "Key lesson"}

dataset_app = typer.Typer(
    help="Training datasets: build one from MIDI files or music21's corpus, show one.",
    no_args_is_help=True,
)


class Size(StrEnum):
    tiny = "tiny"
    one_b = "1b"


class _Bars:
    """One progress display for a whole command: pieces read while a dataset is built,
    then optimiser steps with the latest losses while training."""

    def __init__(self, bars: Progress) -> None:
        self.bars = bars
        self.task = bars.add_task("", total=None, detail="")
        self.losses: dict[str, float] = {}

    def reading(self, done: int, total: int, name: str) -> None:
        self.bars.update(
            self.task, description="Reading pieces", completed=done, total=total, detail=name
        )

    def training(self, event: TrainEvent) -> None:
        if event.stage not in _PASSES:
            self.bars.update(self.task, description=_STAGES[event.stage], total=None, detail="")
            return
        self.losses.update(
            {
                k: v
                for k, v in (("loss", event.loss), ("validation", event.eval_loss))
                if v is not None
            }
        )
        resumed = f" (resumed at step {event.resumed_at})" if event.resumed_at else ""
        self.bars.update(
            self.task,
            description=f"{_PASSES[event.stage]}, epoch {event.epoch:.2f}{resumed}",
            total=event.total,
            completed=event.step,
            detail="  ".join(f"{k} {v:.3f}" for k, v in self.losses.items()),
        )


@contextmanager
def _progress() -> Iterator[_Bars]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bars:
        yield _Bars(bars)


def _print_dataset(path: Path, manifest: dict[str, Any], as_json: bool) -> None:
    summary = {
        "path": str(path),
        **{
            k: manifest[k]
            for k in ("source", "settings", "splits", "skipped", "unmatched_captions")
        },
    }
    if as_json:
        print_json(summary)
        return
    splits = manifest["splits"]
    print_table(
        f"dataset {path}",
        ["split", "pieces", "chunks", "sequences", "music tokens"],
        [
            (
                s,
                splits[s]["pieces"],
                splits[s]["chunks"],
                splits[s]["sequences"],
                f"{splits[s]['music_tokens']:,}",
            )
            for s in SPLITS
        ],
    )
    if manifest["skipped"]:
        first = manifest["skipped"][0]
        count = len(manifest["skipped"])
        note(f"{count} piece{'s' * (count != 1)} skipped (e.g. {first['name']}: {first['reason']})")
    if manifest["unmatched_captions"]:
        count = len(manifest["unmatched_captions"])
        note(
            f"{count} caption{'s' * (count != 1)} named no file found here, e.g. "
            f"{manifest['unmatched_captions'][0]}"
        )


@dataset_app.command("build")
def build(
    out: Annotated[Path, typer.Argument(help="Folder to write the dataset into.", file_okay=False)],
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="A folder of MIDI files (searched recursively).", file_okay=False
        ),
    ] = None,
    music21: Annotated[
        bool,
        typer.Option(
            "--from-music21",
            help="music21's corpus instead (Bach chorales, folk tunes, quartets…).",
        ),
    ] = False,
    collections: Annotated[
        str | None,
        typer.Option(
            help=(
                "With --from-music21: these collections, comma-separated (see `midicli dataset "
                "collections`)."
            )
        ),
    ] = None,
    captions: Annotated[
        Path | None,
        typer.Option(
            help=(
                "Captions file (CSV or JSON lines: file, caption); default: captions.csv/.jsonl in "
                "the folder."
            ),
            dir_okay=False,
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Use at most this many pieces.")] = None,
    chunk_tokens: Annotated[
        int,
        typer.Option(
            help=(
                "Music tokens per sequence at most (3 a note); leave room for the caption in the "
                "context."
            )
        ),
    ] = _BUILD.chunk_tokens,
    min_notes: Annotated[
        int, typer.Option(help="Leave out chunks with fewer notes.")
    ] = _BUILD.min_notes,
    augment: Annotated[
        int,
        typer.Option(
            help=(
                "Sequences per chunk: the plain one, then infill copies with a span or some "
                "instruments as anticipated controls."
            )
        ),
    ] = _BUILD.copies,
    validation: Annotated[
        float, typer.Option(help="Share of the pieces held out for validation.")
    ] = _BUILD.validation,
    test: Annotated[
        float, typer.Option(help="Share of the pieces held out for testing.")
    ] = _BUILD.test,
    seed: Annotated[
        int,
        typer.Option(
            help="Seed for the augmentations (the split depends only on the pieces' names)."
        ),
    ] = _BUILD.seed,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the dataset if OUT exists.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Turn MIDI files (or music21's corpus) into captioned training sequences in the MIDI-LLM layout.

    Examples:
      [bold]midicli dataset build data/mine --from midi/ --captions midi/captions.csv[/bold]
      [bold]midicli dataset build data/chorales --from-music21 --collections bach --limit 100[/bold]
    """  # noqa: E501 - rich help keeps its line breaks
    from midicli.training.dataset import build as build_dataset
    from midicli.training.sources import from_folder, from_music21

    if (source is None) == (not music21):
        raise TrainingError(
            "say where the music comes from: --from FOLDER or --from-music21 (one of them)"
        )
    if collections and not music21:
        raise TrainingError("--collections picks music21 collections: add --from-music21")
    settings = BuildSettings(chunk_tokens, min_notes, augment, validation, test, seed).checked()
    names = [c.strip() for c in collections.split(",") if c.strip()] if collections else None
    try:
        listing = from_music21(names, limit) if music21 else from_folder(source, captions, limit)
        with _progress() as bars:
            manifest = build_dataset(listing, out, settings, force, bars.reading)
    except ImportError as exc:
        raise TrainingError(
            f"building datasets needs the train extra ({exc.name} is missing): pip install "
            "'midicli[train]'"
        ) from None
    _print_dataset(out, manifest, as_json)


@dataset_app.command()
def show(
    folder: Annotated[Path, typer.Argument(help="A dataset folder.", file_okay=False)],
    as_json: Json = False,
) -> None:
    """Show a dataset's source, splits and skipped pieces.

    Example: [bold]midicli dataset show data/chorales[/bold]
    """
    from midicli.training.dataset import read_manifest

    _print_dataset(folder, read_manifest(folder), as_json)


@dataset_app.command("collections")
def collections_(as_json: Json = False) -> None:
    """List the music21 corpus collections --from-music21 can use, with what their encoders allow."""  # noqa: E501 - rich help keeps its line breaks
    from midicli.training.music21_corpus import COLLECTIONS, works

    with err_console.status("Listing music21's corpus…"):
        counts = {name: len(works([name])) for name in COLLECTIONS}
    if as_json:
        print_json(
            [
                {
                    "name": c.name,
                    "title": c.title,
                    "works": counts[c.name],
                    "genre_words": list(c.genre_words),
                    "rights": c.rights,
                }
                for c in COLLECTIONS.values()
            ]
        )
        return
    print_table(
        None,
        ["collection", "title", "works", "genre words", "rights"],
        [
            (c.name, c.title, counts[c.name], ", ".join(c.genre_words), c.rights)
            for c in COLLECTIONS.values()
        ],
    )


def train(
    out: Annotated[
        Path,
        typer.Argument(
            help="Folder to write the model into (must not exist yet).", file_okay=False
        ),
    ],
    dataset: Annotated[
        Path | None,
        typer.Option(help="A dataset from `midicli dataset build`.", file_okay=False),
    ] = None,
    recipe: Annotated[
        Path | None,
        typer.Option(
            help=(
                "A recipe (TOML) naming the dataset, the model and the training; builds the "
                "dataset too."
            ),
            dir_okay=False,
        ),
    ] = None,
    size: Annotated[
        Size | None,
        typer.Option(
            help="Train a new model of this size (its text tokenizer learns the captions)."
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--from", help="Go on training this model: a preset, hub id or folder."),
    ] = None,
    lora: Annotated[
        bool,
        typer.Option(
            "--lora",
            help="With --from: train a LoRA adapter and merge it in, instead of every weight.",
        ),
    ] = False,
    lora_rank: Annotated[int, typer.Option(help="LoRA rank.")] = 16,
    epochs: Annotated[
        float | None,
        typer.Option(help=f"Passes over the training split (default {_TRAIN.epochs:g})."),
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help="Stop after this many optimiser steps instead.")
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option(
            "--lr",
            "--learning-rate",
            help=(
                "Peak learning rate (default: {scratch:g} new, {full:g} full, {lora:g} LoRA)."
            ).format(**DEFAULT_LEARNING_RATES),
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(help=f"Sequences per device and step (default {_TRAIN.batch_size})."),
    ] = None,
    gradient_accumulation: Annotated[
        int | None,
        typer.Option(
            "--grad-accum",
            help=f"Batches per optimiser step (default {_TRAIN.gradient_accumulation}).",
        ),
    ] = None,
    max_length: Annotated[
        int | None,
        typer.Option(
            help=(
                "Tokens of caption + music per sequence; longer ones are cut (default "
                f"{_TRAIN.max_length})."
            )
        ),
    ] = None,
    transpose: Annotated[
        int | None,
        typer.Option(
            help=(
                "Draw each training sequence moved up to this many semitones either way, its "
                "caption's key renamed to match, so the model learns the key from the caption "
                "(default 0: as written)."
            )
        ),
    ] = None,
    openings: Annotated[
        int | None,
        typer.Option(
            help=(
                "Draw each training sequence this many more times cut to its opening (the caption "
                "and its first notes), where the caption's key and instruments decide what comes "
                "(default 0)."
            )
        ),
    ] = None,
    opening_notes: Annotated[
        int | None,
        typer.Option(help=f"Notes an opening keeps (default {_TRAIN.opening_notes})."),
    ] = None,
    openings_only: Annotated[
        bool,
        typer.Option(
            "--openings-only",
            help=(
                "Draw only the openings, not the whole sequences: a short pass from a trained "
                "model that teaches how pieces begin."
            ),
        ),
    ] = False,
    eval_steps: Annotated[
        int | None,
        typer.Option(
            help=f"Measure the validation loss every this many steps (default {_TRAIN.eval_steps})."
        ),
    ] = None,
    save_steps: Annotated[
        int | None,
        typer.Option(
            help=(
                "Keep a checkpoint every this many steps, to resume from (default "
                f"{_TRAIN.save_steps})."
            )
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help=f"Seed for the weights and the order (default {_TRAIN.seed})."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Go on with the interrupted run into OUT from its last checkpoint."
        ),
    ] = False,
    restart: Annotated[
        bool,
        typer.Option("--restart", help="Throw away an interrupted run into OUT and start over."),
    ] = False,
    device: Device = None,
    as_json: Json = False,
) -> None:
    """Train a model in the MIDI-LLM layout on a dataset: new, or from an existing model (full or LoRA).

    Options given with --recipe replace the recipe's \\[train] values; --max-steps caps its \\[finish] pass too.

    Examples:
      [bold]midicli train models/mini --recipe recipes/mini.toml[/bold]
      [bold]midicli train models/small --dataset data/chorales --size tiny --epochs 3[/bold]
      [bold]midicli train models/waltzes --dataset data/waltzes --from midi-llm --lora[/bold]
    """  # noqa: E501 - rich help keeps its line breaks
    from midicli.engines.scaffold import SHAPES
    from midicli.training.recipe import load_recipe, run_recipe
    from midicli.training.run import resumable, run_dir, run_folder
    from midicli.training.settings import Start
    from midicli.training.train import train as run_training

    given = {
        "epochs": epochs,
        "max_steps": max_steps,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "gradient_accumulation": gradient_accumulation,
        "max_length": max_length,
        "transpose": transpose,
        "openings": openings,
        "opening_notes": opening_notes,
        "whole": False if openings_only else None,
        "eval_steps": eval_steps,
        "save_steps": save_steps,
        "seed": seed,
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    try:
        if recipe is not None:
            if dataset or size or base or lora:
                raise TrainingError(
                    "a recipe names the dataset and the model: drop --dataset, --size, --from and "
                    "--lora"
                )
            plan = load_recipe(recipe)
            settings = replace(plan.settings, **overrides)
            settings.checked(plan.start)  # a bad option fails before the dataset is built
            finish = (
                replace(plan.finish, max_steps=max_steps)
                if plan.finish and max_steps
                else plan.finish
            )
            with _progress() as bars:
                record = run_recipe(
                    plan,
                    out,
                    device,
                    resume,
                    restart,
                    bars.reading,
                    bars.training,
                    settings,
                    finish,
                )
        else:
            if dataset is None or (size is None) == (base is None):
                raise TrainingError(
                    "say what to train: --dataset DIR with --size (a new model) or --from MODEL; "
                    "or --recipe FILE"
                )
            start = (
                Start(shape=SHAPES[size.value])
                if size
                else Start(model=base, method="lora" if lora else "full", lora_rank=lora_rank)
            )
            with run_folder(out, resume, restart) as run, _progress() as bars:
                record = run_training(
                    dataset, out, start, TrainSettings(**overrides), run, device, bars.training
                )
    except KeyboardInterrupt:
        if resumable(run_dir(out)):
            error("interrupted: run the same command with --resume to go on from where it stopped")
        else:
            error("interrupted before the first checkpoint; nothing was kept")
        raise typer.Exit(130) from None
    except ImportError as exc:
        raise TrainingError(
            f"training needs the train extra ({exc.name} is missing): pip install 'midicli[train]'"
        ) from None
    _print_trained(out, record, as_json)


def _print_trained(out: Path, record: dict[str, Any], as_json: bool) -> None:
    m = record["metrics"]
    if as_json:
        print_json({"path": str(out), **record})
        return
    passes = (
        [("first pass ", record["first"]["metrics"]), ("finish ", m)]
        if "first" in record
        else [("", m)]
    )
    resumed = f", resumed at step {m['resumed_at']}" if m["resumed_at"] else ""
    steps = " + ".join(str(p["steps"]) for _, p in passes)
    seconds = sum(p["train_seconds"] for _, p in passes)
    console.print(
        f"Trained [bold]{out}[/bold] in {steps} steps ({seconds:.0f} s{resumed}) on "
        f"{m['sequences']['train']:,} sequences"
    )

    def loss(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    print_table(
        None,
        ["loss", "start", "end"],
        [
            row
            for name, p in passes
            for row in (
                (f"{name}training", loss(p["train_loss"]["first"]), loss(p["train_loss"]["last"])),
                (
                    f"{name}validation",
                    loss(p["validation_loss"]["start"]),
                    loss(p["validation_loss"]["end"]),
                ),
            )
        ],
    )
    if m["cut_sequences"]:
        note(f"{m['cut_sequences']} sequences were longer than --max-length and were cut")
    if "keys" in record:
        _print_key_lesson(record["keys"]["metrics"])
    note(f"Use it with --model {out}, e.g. midicli init --model {out}")


def _print_key_lesson(m: dict[str, Any]) -> None:
    """How the key lesson moved the held-out preference for openings in the caption's key."""
    preference, loss = m["preference"], m["validation_loss"]

    def share(found: dict[str, Any] | None) -> str:
        return "—" if found is None else f"{found['accuracy']:.0%}"

    def value(found: float | None) -> str:
        return "—" if found is None else f"{found:.3f}"

    print_table(
        f"key lesson: {m['steps']} steps ({m['train_seconds']:.0f} s) on {m['pairs']:,} pairs",
        ["held out", "before", "after"],
        [
            (
                "opening in the caption's key preferred",
                share(preference["before"]),
                share(preference["after"]),
            ),
            ("validation loss (whole pieces)", value(loss["before"]), value(loss["after"])),
        ],
    )


def register(app: typer.Typer) -> None:
    app.add_typer(dataset_app, name="dataset")
    app.command()(train)
