"""``tune``: DPO on a project's recorded preferences, LoRA by default.

A run works in ``adapters/.NAME.run/``: its plan (the preferences and settings it
trains on) and trl's checkpoints. Running ``tune`` again with the same name resumes
from the last checkpoint with that plan. The finished adapter moves to
``adapters/NAME/`` and is registered with its data, settings and held-out metrics.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from midicli.errors import ModelError, TuningError
from midicli.project import Project
from midicli.project.adapters import NO_ADAPTER
from midicli.project.records import ADAPTER_METHODS, AdapterRecord
from midicli.project.refs import check_name
from midicli.training.preference_data import MIN_PAIRS, Pair, select, split
from midicli.training.preference_metrics import preference_metrics
from midicli.training.run import (
    StepReport,
    TrainEvent,
    TrainProgress,
    changed,
    logged,
    put_in_place,
    run_dir,
    saved_plan,
    saving_folder,
    train_from_checkpoint,
    write_plan,
)

DEFAULT_LEARNING_RATES = {"lora": 1e-4, "full": 1e-6}


@dataclass(frozen=True)
class TuneSettings:
    """What shapes the result; recorded with the adapter, and a resumed run must match."""

    method: str = "lora"
    beta: float = 0.1
    learning_rate: float | None = None  # None: DEFAULT_LEARNING_RATES[method]
    epochs: float = 3.0
    batch_size: int = 4
    max_length: int = 4096
    holdout: float = 0.2
    lora_rank: int = 16
    lora_alpha: int = 32
    seed: int = 0

    def checked(self) -> TuneSettings:
        if self.method not in ADAPTER_METHODS:
            raise TuningError(
                f"the tuning method must be one of {', '.join(ADAPTER_METHODS)}, not "
                f"{self.method!r}"
            )
        for name in ("beta", "epochs", "batch_size", "max_length", "lora_rank", "lora_alpha"):
            if not getattr(self, name) > 0:
                raise TuningError(
                    f"--{name.replace('_', '-')} must be above 0, got {getattr(self, name)}"
                )
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise TuningError(f"--learning-rate must be above 0, got {self.learning_rate}")
        if not 0 <= self.holdout < 1:
            raise TuningError(f"--holdout must be at least 0 and below 1, got {self.holdout}")
        return replace(
            self, learning_rate=self.learning_rate or DEFAULT_LEARNING_RATES[self.method]
        )


@dataclass(frozen=True)
class Plan:
    """The fixed part of a run, written before training so that a resumed run trains
    on the same pairs with the same settings."""

    base_model: str
    base_hash: str
    settings: dict[str, Any]
    preference_ids: list[int]


def tune(
    project: Project,
    name: str,
    settings: TuneSettings = TuneSettings(),
    model: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    save_steps: int = 50,
    restart: bool = False,
    progress: TrainProgress | None = None,
) -> AdapterRecord:
    """Train adapter ``name`` on the project's preferences (resuming an interrupted run
    of that name unless ``restart``) and register it. ``model`` defaults to the project's."""
    from midicli.engines.models import load_model, model_hash

    settings = settings.checked()
    report = progress or (lambda event: None)
    _check_free(project, name)
    base = model or project.config.model
    if not base:
        raise ModelError(
            "no model to tune: pass --model or set the project's with `midicli init --model`"
        )
    run = run_dir(project.adapters_dir / name)
    if restart:
        shutil.rmtree(run, ignore_errors=True)
    plan = _plan(
        project, name, run, base, model_hash(base), settings
    )  # before loading: a run without data fails fast
    report(TrainEvent("loading"))
    # full tuning keeps float32 master weights: a bf16 weight cannot take a 1e-6 step
    loaded = load_model(
        base, device=device, dtype=dtype or ("float32" if settings.method == "full" else None)
    )
    pairs = _pairs(project, plan, loaded.text_vocab_size)
    train, held = split(pairs, settings.holdout, settings.seed)
    report(TrainEvent("measuring"))
    before = preference_metrics(loaded.model, held, settings.beta, loaded.device)
    trainer, resumed_at, seconds = _train(loaded, train, plan, run, save_steps, report)
    report(TrainEvent("measuring", trainer.state.global_step, trainer.state.max_steps))
    after = preference_metrics(trainer.model, held, settings.beta, trainer.args.device)
    report(TrainEvent("saving", trainer.state.global_step, trainer.state.max_steps))
    metrics = {
        "before": before,
        "after": after,
        "train_pairs": len(train),
        "held_out_pairs": len(held),
        "steps": trainer.state.global_step,
        "train_loss": _last(logged(trainer.state.log_history, "loss")),
        "train_seconds": round(seconds, 1),
        "resumed_at": resumed_at,
    }
    return _save(project, name, trainer, plan, metrics, run)


def _check_free(project: Project, name: str) -> None:
    check_name(name)
    if name == NO_ADAPTER:
        raise TuningError(f"'{NO_ADAPTER}' means no adapter: choose another name")
    if any(a.name == name for a in project.adapters()):
        raise TuningError(
            f"an adapter named '{name}' exists already: choose another name or `midicli adapters "
            f"rm {name}`"
        )


def _plan(
    project: Project, name: str, run: Path, base: str, base_hash: str, settings: TuneSettings
) -> Plan:
    """The interrupted run's plan, if it matches these settings; else a new one over
    every usable preference."""
    wanted = asdict(settings)
    saved = saved_plan(run)
    if saved is not None:
        plan = Plan(**saved)
        moved = changed(plan.settings, wanted)
        if plan.base_hash != base_hash:
            moved.insert(0, "model")
        if moved:
            raise TuningError(
                f"the interrupted run '{name}' used other settings ({', '.join(moved)}): "
                "run it with the same options to resume, or pass --restart to start over"
            )
        return plan
    selection = select(
        project.preferences(), base_hash, 0, settings.max_length
    )  # ids only: no vocabulary offset
    if len(selection.pairs) < MIN_PAIRS:
        left_out = f" ({selection.describe()} left out)" if selection.left_out else ""
        raise TuningError(
            f"tuning needs at least {MIN_PAIRS} usable preference pairs, this project has "
            f"{len(selection.pairs)}"
            f"{left_out}: record more with `midicli pick REF` or `midicli prefer A B`"
        )
    plan = Plan(base, base_hash, wanted, [p.preference_id for p in selection.pairs])
    write_plan(run, asdict(plan))
    return plan


def _pairs(project: Project, plan: Plan, text_vocab_size: int) -> list[Pair]:
    chosen = [p for p in project.preferences() if p.id in set(plan.preference_ids)]
    if len(chosen) < len(plan.preference_ids):
        raise TuningError(
            "preferences of the interrupted run were removed since: pass --restart to start over"
        )
    return select(chosen, plan.base_hash, text_vocab_size, plan.settings["max_length"]).pairs


def _train(
    loaded: Any, train: list[Pair], plan: Plan, run: Path, save_steps: int, report: TrainProgress
) -> tuple[Any, int, float]:
    """Train from the last checkpoint in ``run`` (if any); returns the trainer, the step
    it resumed at and the seconds spent."""
    from midicli.training.dpo_trainer import build_trainer

    def build(step: StepReport) -> Any:
        return build_trainer(loaded, train, plan.settings, run, save_steps, step)

    return train_from_checkpoint(run, build, report)


def _save(
    project: Project, name: str, trainer: Any, plan: Plan, metrics: dict[str, Any], run: Path
) -> AdapterRecord:
    """Weights to ``adapters/NAME`` (written aside, then renamed), then the registry row."""
    final = project.adapters_dir / name
    staging = saving_folder(final)
    trainer.save_model(str(staging))
    record = AdapterRecord(
        name=name,
        path=final.relative_to(project.root).as_posix(),
        method=plan.settings["method"],
        base_model=plan.base_model,
        base_hash=plan.base_hash,
        preference_ids=plan.preference_ids,
        params=plan.settings,
        metrics=metrics,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if not trainer.is_world_process_zero():
        return record
    shutil.rmtree(final, ignore_errors=True)  # left by a run killed between rename and registration
    put_in_place(staging, final)
    project.register_adapter(record)
    shutil.rmtree(run, ignore_errors=True)
    return record


def _last(losses: list[float]) -> float | None:
    return round(losses[-1], 4) if losses else None
