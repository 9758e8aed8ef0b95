"""tune and adapters: DPO on the recorded preferences, and the adapters it makes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from midicli.cli import context
from midicli.cli.options import Device, Dtype, Json, Model
from midicli.cli.output import console, err_console, error, note, print_json, print_table
from midicli.errors import TuningError
from midicli.project.adapters import NO_ADAPTER
from midicli.project.records import AdapterRecord
from midicli.training.dpo import TuneSettings
from midicli.training.run import TrainEvent, TrainProgress

_STAGES = {
    "loading": "Loading the model…",
    "measuring": "Measuring held-out preferences…",
    "saving": "Saving the adapter…",
}


def adapter_json(a: AdapterRecord) -> dict[str, Any]:
    return {
        "name": a.name,
        "path": a.path,
        "method": a.method,
        "base_model": a.base_model,
        "base_hash": a.base_hash,
        "preferences": a.preference_ids,
        "params": a.params,
        "metrics": a.metrics,
        "created": a.created,
    }


@contextmanager
def _progress() -> Iterator[TrainProgress]:
    """A spinner line for each stage and a bar of optimiser steps while training."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[loss]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bars:
        task = bars.add_task(_STAGES["loading"], total=None, loss="")

        def update(event: TrainEvent) -> None:
            if event.stage != "training":
                bars.update(task, description=_STAGES[event.stage])
                return
            loss = f"loss {event.loss:.4f}" if event.loss is not None else ""
            resumed = f" (resumed at step {event.resumed_at})" if event.resumed_at else ""
            bars.update(
                task,
                description=f"Training, epoch {event.epoch:.1f}{resumed}",
                total=event.total,
                completed=event.step,
                loss=loss,
            )

        yield update


def _metric(metrics: dict[str, Any], when: str, key: str) -> str:
    values = metrics.get(when)
    return "—" if not values else f"{values[key]:.3f}"


def tune(
    name: Annotated[
        str,
        typer.Argument(help="The adapter's name; the same name again resumes an interrupted run."),
    ],
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Tune every weight instead of a LoRA adapter (much more memory)."
        ),
    ] = False,
    beta: Annotated[
        float, typer.Option(help="DPO β: higher keeps the model closer to the base.")
    ] = 0.1,
    learning_rate: Annotated[
        float | None,
        typer.Option(
            "--lr", "--learning-rate", help="Learning rate (default: 1e-4 LoRA, 1e-6 full)."
        ),
    ] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the preferences.")] = 3.0,
    batch_size: Annotated[int, typer.Option(help="Pairs per optimiser step (per device).")] = 4,
    max_length: Annotated[
        int, typer.Option(help="Most tokens of prompt + music per sequence; longer music is cut.")
    ] = 4096,
    holdout: Annotated[
        float, typer.Option(help="Share of preferences held out to measure the result.")
    ] = 0.2,
    lora_rank: Annotated[int, typer.Option(help="LoRA rank.")] = 16,
    seed: Annotated[int, typer.Option(help="Seed for the split and the training order.")] = 0,
    save_steps: Annotated[
        int, typer.Option(help="Keep a checkpoint every this many steps (to resume from).")
    ] = 50,
    restart: Annotated[
        bool,
        typer.Option("--restart", help="Discard an interrupted run of this name and start over."),
    ] = False,
    use: Annotated[
        bool, typer.Option("--use", help="Make the new adapter the project default.")
    ] = False,
    model: Model = None,
    device: Device = None,
    dtype: Dtype = None,
    as_json: Json = False,
) -> None:
    """Tune the model on your recorded preferences (DPO) into a named adapter.

    Examples:
      [bold]midicli tune waltzes[/bold]
      [bold]midicli tune waltzes --epochs 5 --beta 0.2 --use[/bold]
      [bold]accelerate launch --num_processes 4 $(which midicli) tune big --full[/bold]
    """
    from midicli.training.dpo import tune as run_tune

    if save_steps < 1:
        raise TuningError("--save-steps must be at least 1")
    project = context.session.project()
    settings = TuneSettings(
        "full" if full else "lora",
        beta,
        learning_rate,
        epochs,
        batch_size,
        max_length,
        holdout,
        lora_rank,
        2 * lora_rank,
        seed,
    )
    try:
        with _progress() as progress:
            record = run_tune(
                project, name, settings, model, device, dtype, save_steps, restart, progress
            )
    except KeyboardInterrupt:
        error(
            f"interrupted: run `midicli tune {name}` with the same options to resume from the last "
            "checkpoint"
        )
        raise typer.Exit(130) from None
    except ImportError as exc:
        raise TuningError(
            f"tuning needs the train extra ({exc.name} is missing): pip install 'midicli[train]'"
        ) from None
    if use:
        project.config.adapter = name
        project.save_config()
    if as_json:
        print_json(adapter_json(record))
        return
    m = record.metrics
    resumed = f", resumed at step {m['resumed_at']}" if m.get("resumed_at") else ""
    console.print(
        f"Tuned [bold]{name}[/bold] ({record.method}) on {m['train_pairs']} pairs in {m['steps']} "
        "steps"
        f"{resumed}; saved in {record.path}"
    )
    if m.get("before"):
        print_table(
            "held-out preferences",
            ["", "accuracy", "margin"],
            [
                (when, _metric(m, when, "accuracy"), _metric(m, when, "margin"))
                for when in ("before", "after")
            ],
        )
    else:
        note(
            "No preferences could be held out (too few unrelated ones), so there is nothing to "
            "measure the result on."
        )
    if not use:
        note(f"Use it with --adapter {name}, or make it the default: midicli adapters use {name}")


adapters_app = typer.Typer(
    help="The adapters `tune` made: list, use (project default), rm.", no_args_is_help=True
)


@adapters_app.command("list")
def list_(as_json: Json = False) -> None:
    """List the project's adapters with their training data and held-out results."""
    project = context.session.project()
    records = project.adapters()
    if as_json:
        print_json(
            [adapter_json(a) | {"default": a.name == project.config.adapter} for a in records]
        )
        return
    if not records:
        note("No adapters yet: record preferences (`midicli pick REF`), then `midicli tune NAME`.")
        return
    print_table(
        None,
        ["adapter", "method", "base model", "pairs", "accuracy before→after", "created"],
        [
            (
                a.name + (" (default)" if a.name == project.config.adapter else ""),
                a.method,
                a.base_model,
                len(a.preference_ids),
                f"{_metric(a.metrics, 'before', 'accuracy')}→"
                f"{_metric(a.metrics, 'after', 'accuracy')}",
                a.created[:16].replace("T", " "),
            )
            for a in records
        ],
    )


@adapters_app.command()
def use(
    name: Annotated[
        str,
        typer.Argument(help=f"An adapter of this project, or '{NO_ADAPTER}' for the base model."),
    ],
) -> None:
    """Generate with this adapter by default (midicli.toml `adapter`); it must have
    been tuned on the project's model."""
    from midicli.engines.models import default_model
    from midicli.project.adapters import check_base

    project = context.session.project()
    if name == NO_ADAPTER:
        project.config.adapter = None
    else:
        record = project.adapter(name)
        check_base(record, project.config.model or default_model())
        project.config.adapter = record.name
    project.save_config()
    console.print(
        f"Generating with {'the base model' if name == NO_ADAPTER else f'adapter {name}'} by "
        "default"
    )


@adapters_app.command("rm")
def remove(
    name: Annotated[str, typer.Argument(help="The adapter to remove with its files.")],
) -> None:
    """Remove an adapter (and stop using it by default)."""
    context.session.project().remove_adapter(name)
    console.print(f"Removed adapter {name}")


def register(app: typer.Typer) -> None:
    app.command()(tune)
    app.add_typer(adapters_app, name="adapters")
