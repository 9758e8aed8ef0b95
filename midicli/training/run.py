"""What every training run does alike, next-token (``train``) or preference (``dpo``)
training: it works in a run folder beside its output (``.OUT.run/``) that holds its
plan and the Trainer's checkpoints, goes on from the last checkpoint of the same plan,
reports where it is as events, and writes its result aside before renaming it into
place, so that a reader never finds half a model.

Needs no training packages to import: the CLI reads the events before a run starts.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from midicli.project.files import apply_umask
from midicli.training import TrainingError
from midicli.training.dataset import MANIFEST

PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class TrainEvent:
    """Where a run is: ``stage`` names what it does (preparing, loading, measuring,
    training, saving…); steps count optimiser steps (``resumed_at`` > 0 when it went
    on from a checkpoint)."""

    stage: str
    step: int = 0
    total: int = 0
    epoch: float = 0.0
    loss: float | None = None
    eval_loss: float | None = None
    resumed_at: int = 0


TrainProgress = Callable[[TrainEvent], None]

# what a Trainer logs: (global step, total steps, epoch, training loss or None, validation loss
# or None)
StepReport = Callable[[int, int, float, float | None, float | None], None]


def run_dir(out: Path) -> Path:
    """The working folder of a run into ``out``."""
    return Path(out).parent / f".{Path(out).name}.run"


@contextmanager
def run_folder(out: Path, resume: bool = False, restart: bool = False) -> Iterator[Path]:
    """The working folder of a run into ``out``. An interrupted run is taken up only when
    asked (``resume``) and thrown away only when asked (``restart``); a run that fails
    before it has anything to resume from (a checkpoint, a built dataset) leaves nothing."""
    out, run = Path(out), run_dir(out)
    if out.exists():
        raise TrainingError(
            f"{out} exists already: choose another folder for the model, or remove it"
        )
    if restart:
        shutil.rmtree(run, ignore_errors=True)
    elif run.exists() and not resume:
        raise TrainingError(
            f"an interrupted run into {out} exists: pass --resume to go on from where it stopped, "
            "or --restart"
        )
    elif resume and not run.exists():
        raise TrainingError(f"there is no interrupted run into {out} to resume")
    run.mkdir(parents=True, exist_ok=True)
    try:
        yield run
    except BaseException:
        if not resumable(run):
            shutil.rmtree(run, ignore_errors=True)
        raise


def resumable(run: Path) -> bool:
    """Whether a run folder holds something to go on from."""
    return any(run.glob("checkpoints/checkpoint-*")) or (run / "dataset" / MANIFEST).is_file()


def saved_plan(run: Path) -> dict[str, Any] | None:
    """The plan an interrupted run in ``run`` wrote when it began, if any."""
    path = run / PLAN_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def write_plan(run: Path, plan: dict[str, Any]) -> None:
    """Fix what the run trains and how, before training, so that a resumed run trains alike."""
    run.mkdir(parents=True, exist_ok=True)
    (run / PLAN_FILE).write_text(json.dumps(plan, indent=1), encoding="utf-8")


def changed(saved: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The names whose values a resumed run would change, sorted."""
    return sorted(key for key in set(saved) | set(wanted) if saved.get(key) != wanted.get(key))


def train_from_checkpoint(
    checkpoints: Path,
    build: Callable[[StepReport], Any],
    report: TrainProgress,
    stage: str = "training",
) -> tuple[Any, int, float]:
    """Build the Trainer (``build`` gets what hands its logged steps on as ``stage``
    events) and train it from the last checkpoint in ``checkpoints``, if any; returns
    the trainer, the step it resumed at and the seconds spent."""
    from transformers.trainer_utils import get_last_checkpoint

    checkpoint = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    resumed_at = int(checkpoint.rsplit("-", 1)[1]) if checkpoint else 0

    def step(
        done: int, total: int, epoch: float, loss: float | None, eval_loss: float | None
    ) -> None:
        report(TrainEvent(stage, done, total, epoch, loss, eval_loss, resumed_at))

    trainer = build(step)
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=checkpoint)
    return trainer, resumed_at, time.perf_counter() - started


def logged(history: list[dict[str, Any]], key: str) -> list[float]:
    """Every value of ``key`` (``loss``, ``eval_loss``) in a Trainer's log history, oldest first."""
    return [entry[key] for entry in history if key in entry]


def saving_folder(out: Path) -> Path:
    """An empty place beside ``out`` to write it in (see ``put_in_place``)."""
    staging = out.parent / f".{out.name}.saving"
    shutil.rmtree(staging, ignore_errors=True)
    return staging


def put_in_place(staging: Path, out: Path) -> None:
    """The written ``staging`` folder, readable as the user's umask allows, renamed to ``out``."""
    apply_umask(staging)
    os.replace(staging, out)
