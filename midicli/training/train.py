"""``train``: supervised next-token training on a dataset from ``dataset build``.

A run into ``OUT`` works in ``.OUT.run/`` beside it: its plan (what it trains and
how), the text tokenizer of a new model, and the Trainer's checkpoints; ``--resume``
goes on from the last checkpoint of the same plan. The finished model is written
aside and renamed to ``OUT``: a complete model folder in the MIDI-LLM layout that
``load_model`` and every engine read, with ``training.json`` saying how it was made.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from midicli.generation.prompt import build_prompt, system_prompt, text_ids
from midicli.project.files import apply_umask
from midicli.tokenizers.vocab import ANTICIPATE
from midicli.training import TrainingError
from midicli.training.dataset import MANIFEST, read_manifest, read_split

if TYPE_CHECKING:
    from midicli.engines.scaffold import Shape  # imports transformers: only where a model is built

PLAN_FILE = "plan.json"
RECORD_FILE = "training.json"
METHODS = ("full", "lora")
DEFAULT_LEARNING_RATES = {"scratch": 1e-3, "full": 5e-5, "lora": 2e-4}
IGNORE = -100  # the label that leaves a position out of the loss


@dataclass(frozen=True)
class Start:
    """Where training begins: a new model of ``shape`` (its text tokenizer trained on the
    dataset's captions and the system prompt), or an existing ``model``, tuned fully or
    through a LoRA adapter that is merged into the result."""

    shape: Shape | None = None
    model: str | None = None
    method: str = "full"
    lora_rank: int = 16

    @property
    def kind(self) -> str:
        return "scratch" if self.shape is not None else self.method

    def checked(self) -> Start:
        if (self.shape is None) == (self.model is None):
            raise TrainingError("train a new model (--size or a recipe's [model] shape) or start from one (--from MODEL), not both")
        if self.method not in METHODS:
            raise TrainingError(f"the method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.shape is not None and self.method != "full":
            raise TrainingError("a new model trains all its weights: --lora needs --from MODEL")
        if self.shape is not None and self.shape.hidden % self.shape.heads:
            raise TrainingError(f"hidden size {self.shape.hidden} must be a multiple of the {self.shape.heads} heads")
        return self


@dataclass(frozen=True)
class TrainSettings:
    """How to train; recorded with the model, and a resumed run must match."""

    epochs: float = 1.0
    max_steps: int = 0  # above 0: stop after this many optimiser steps instead of epochs
    learning_rate: float | None = None  # None: DEFAULT_LEARNING_RATES for the start
    batch_size: int = 8
    gradient_accumulation: int = 1
    warmup: float = 0.05  # share of the steps
    weight_decay: float = 0.01
    max_length: int = 2304  # tokens of caption + music; longer sequences are cut
    transpose: int = 0  # above 0: each training draw moves the music and its caption's key up to this many semitones
    openings: int = 0  # above 0: each sequence is drawn this many more times cut to its opening (trainer.opening)
    opening_notes: int = 16  # the notes an opening keeps
    whole: bool = True  # False: only the openings are drawn (a pass that teaches how pieces begin)
    eval_steps: int = 100
    save_steps: int = 100
    logging_steps: int = 10
    seed: int = 0

    def checked(self, start: Start) -> TrainSettings:
        for name in ("epochs", "batch_size", "gradient_accumulation", "max_length", "eval_steps", "save_steps", "logging_steps"):
            if not getattr(self, name) > 0:
                raise TrainingError(f"--{name.replace('_', '-')} must be above 0, got {getattr(self, name)}")
        if not 0 <= self.transpose <= 12:
            raise TrainingError(f"--transpose is a number of semitones from 0 to 12, got {self.transpose}")
        if self.openings < 0:
            raise TrainingError(f"--openings is a number of extra draws, at least 0, got {self.openings}")
        if self.opening_notes < 1:
            raise TrainingError(f"--opening-notes must be above 0, got {self.opening_notes}")
        if not self.whole and not self.openings:
            raise TrainingError("--openings-only draws the openings: give --openings 1 or more")
        if self.max_steps < 0 or not 0 <= self.warmup < 1 or self.weight_decay < 0:
            raise TrainingError("--max-steps and --weight-decay must be at least 0, --warmup from 0 to below 1")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise TrainingError(f"--learning-rate must be above 0, got {self.learning_rate}")
        return replace(self, learning_rate=self.learning_rate or DEFAULT_LEARNING_RATES[start.kind])


@dataclass(frozen=True)
class TrainEvent:
    """Where a run is: ``stage`` is preparing, training or saving; steps count optimiser
    steps (``resumed_at`` > 0 when it went on from a checkpoint)."""

    stage: str
    step: int = 0
    total: int = 0
    epoch: float = 0.0
    loss: float | None = None
    eval_loss: float | None = None
    resumed_at: int = 0


TrainProgress = Callable[[TrainEvent], None]


def run_dir(out: Path) -> Path:
    return Path(out).parent / f".{Path(out).name}.run"


@contextmanager
def run_folder(out: Path, resume: bool = False, restart: bool = False) -> Iterator[Path]:
    """The working folder of a run into ``out``. An interrupted run is taken up only when
    asked (``resume``) and thrown away only when asked (``restart``); a run that fails
    before it has anything to resume from (a checkpoint, a built dataset) leaves nothing."""
    out, run = Path(out), run_dir(out)
    if out.exists():
        raise TrainingError(f"{out} exists already: choose another folder for the model, or remove it")
    if restart:
        shutil.rmtree(run, ignore_errors=True)
    elif run.exists() and not resume:
        raise TrainingError(f"an interrupted run into {out} exists: pass --resume to go on from where it stopped, or --restart")
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


def train(
    dataset: Path,
    out: Path,
    start: Start,
    settings: TrainSettings,
    run: Path,
    device: str | None = None,
    progress: TrainProgress | None = None,
    about: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train on ``dataset`` in ``run`` (from its last checkpoint, if any) and write the
    model to ``out``; returns what ``training.json`` records, with ``about`` (the recipe,
    an earlier pass) added."""
    from midicli.engines.models import pick_device

    start = start.checked()
    settings = settings.checked(start)
    report = progress or (lambda event: None)
    manifest = read_manifest(dataset)
    plan = _plan(run, start, settings, manifest)
    report(TrainEvent("preparing"))
    target = pick_device(device)
    model, tokenizer, text_vocab_size = _starting_model(start, run, dataset, settings.seed, target)
    encode = _encoder(tokenizer, text_vocab_size, settings.max_length)
    rows = _sequences(dataset, run, encode)
    if rows["train"] is None or not len(rows["train"]):
        raise TrainingError(
            f"no training sequence has room for music after its caption within --max-length {settings.max_length}: raise it"
        )
    drawn = _drawn(dataset, run, encode, settings) if settings.transpose or settings.openings else rows["train"]
    trainer, resumed_at, seconds = _train(model, tokenizer, drawn, rows["validation"], plan, run, target, report)
    report(TrainEvent("saving", trainer.state.global_step, trainer.state.max_steps))
    record = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "start": plan["start"],
        "settings": plan["settings"],
        "recipe": None,
        "dataset": {key: manifest[key] for key in ("source", "settings", "splits")},
        "metrics": _metrics(trainer, rows, resumed_at, seconds),
    } | (about or {})
    _save(trainer, tokenizer, start, record, Path(out), run)
    return record


def _plan(run: Path, start: Start, settings: TrainSettings, manifest: dict[str, Any]) -> dict[str, Any]:
    """The run's plan: written when it begins, compared when it resumes."""
    wanted = {"start": asdict(start), "settings": asdict(settings),
              "dataset": {key: manifest[key] for key in ("created", "source", "settings")}}
    path = run / PLAN_FILE
    if path.is_file():
        plan = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(f"{part}.{key}" for part in ("start", "settings", "dataset")
                         for key in set(plan[part]) | set(wanted[part]) if plan[part].get(key) != wanted[part].get(key))
        if changed:
            raise TrainingError(f"the interrupted run used other settings ({', '.join(changed)}): "
                                "pass the same ones to resume, or --restart to start over")
        return plan
    path.write_text(json.dumps(wanted, indent=1), encoding="utf-8")
    return wanted


def _starting_model(start: Start, run: Path, dataset: Path, seed: int, device: Any) -> tuple[Any, Any, int]:
    """(model in float32, text tokenizer, text vocabulary size)."""
    import torch

    from midicli.engines.models import load_model, quiet_transformers

    quiet_transformers()
    if start.model is not None:
        loaded = load_model(start.model, device=device, dtype="float32")  # master weights that can take small steps
        model = loaded.model
        if start.method == "lora":
            from peft import LoraConfig, get_peft_model

            config = LoraConfig(r=start.lora_rank, lora_alpha=2 * start.lora_rank, target_modules="all-linear",
                                task_type="CAUSAL_LM")
            model = get_peft_model(model, config)
        return model, loaded.tokenizer, loaded.text_vocab_size
    from transformers import AutoTokenizer, LlamaForCausalLM

    from midicli.engines.scaffold import build_text_tokenizer, scaffold_config
    from midicli.training.embeddings import start_music_rows

    saved = run / "tokenizer"
    if saved.is_dir():  # a resumed run keeps the tokenizer its checkpoints were trained with
        tokenizer = AutoTokenizer.from_pretrained(saved)
    else:
        captions = sorted({row["caption"] for row in read_split(dataset, "train")})
        tokenizer = build_text_tokenizer([system_prompt(), *captions], vocab_size=start.shape.text_vocab)
        tokenizer.save_pretrained(saved)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM._from_config(scaffold_config(start.shape, tokenizer), dtype=torch.float32)
    start_music_rows(model, tokenizer, start.shape.text_vocab, seed)
    return model, tokenizer, start.shape.text_vocab


def _encoder(tokenizer: Any, text_vocab_size: int, max_length: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Row → MIDI-LLM sequence (caption prompt, mode token, music) cut to ``max_length``.
    Only the music is learned, as the prompt is always given; ``learns`` is false when
    the caption leaves no room for music."""

    def encode(row: dict[str, Any]) -> dict[str, Any]:
        music = row["music"]
        text = text_ids(tokenizer, row["caption"])
        ids = build_prompt(text, text_vocab_size, music[1:], anticipate=music[0] == ANTICIPATE)
        given = len(text) + 1
        labels = [IGNORE] * given + ids[given:]
        return {"input_ids": ids[:max_length], "labels": labels[:max_length], "length": min(len(ids), max_length),
                "cut": len(ids) > max_length, "learns": given < max_length}

    return encode


def _sequences(dataset: Path, run: Path, encode: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """The train and validation splits encoded (None for an empty split)."""
    from midicli.training.sft_trainer import encoded

    return {split: encoded(dataset / f"{split}.jsonl", encode, run / "cache") for split in ("train", "validation")}


def _drawn(dataset: Path, run: Path, encode: Callable[[dict[str, Any]], dict[str, Any]], settings: TrainSettings) -> Any:
    """The train split drawn in random transpositions (see ``training.transpose``) and
    with extra openings."""
    from midicli.training.sft_trainer import Drawn

    return Drawn(dataset / "train.jsonl", encode, settings, run / "cache")


def _train(model: Any, tokenizer: Any, train: Any, validation: Any, plan: dict[str, Any], run: Path, device: Any,
           report: TrainProgress) -> tuple[Any, int, float]:
    """Train from the last checkpoint in ``run`` (if any); returns the trainer, the step
    it resumed at and the seconds spent."""
    from transformers.trainer_utils import get_last_checkpoint

    from midicli.training.sft_trainer import build_trainer

    checkpoints = run / "checkpoints"
    checkpoint = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    resumed_at = int(checkpoint.rsplit("-", 1)[1]) if checkpoint else 0

    def step(done: int, total: int, epoch: float, loss: float | None, eval_loss: float | None) -> None:
        report(TrainEvent("training", done, total, epoch, loss, eval_loss, resumed_at))

    trainer = build_trainer(model, tokenizer, train, validation, plan["settings"], checkpoints, device, step)
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=checkpoint)
    step_now = trainer.state.global_step
    if trainer.eval_dataset is not None and not any("eval_loss" in e and e["step"] == step_now for e in trainer.state.log_history):
        trainer.evaluate()  # the validation loss of the final weights
    return trainer, resumed_at, time.perf_counter() - started


def _metrics(trainer: Any, rows: dict[str, Any], resumed_at: int, seconds: float) -> dict[str, Any]:
    history = trainer.state.log_history
    losses = [entry["loss"] for entry in history if "loss" in entry]
    evals = [entry["eval_loss"] for entry in history if "eval_loss" in entry]
    return {
        "steps": trainer.state.global_step,
        "train_loss": {"first": _round(losses[0]) if losses else None, "last": _round(losses[-1]) if losses else None},
        "validation_loss": {"start": _round(evals[0]) if evals else None, "end": _round(evals[-1]) if evals else None},
        "sequences": {split: len(found) if found is not None else 0 for split, found in rows.items()},
        "cut_sequences": sum(sum(found["cut"]) for found in rows.values() if found is not None),
        "tokens": sum(rows["train"]["length"]),
        "train_seconds": round(seconds, 1),
        "resumed_at": resumed_at,
    }


def _round(value: float) -> float:
    return round(float(value), 4)


def _save(trainer: Any, tokenizer: Any, start: Start, record: dict[str, Any], out: Path, run: Path) -> None:
    """The trained model written to ``out`` (see ``save_model``); then the run folder goes."""
    if not trainer.is_world_process_zero():
        return
    model = trainer.model
    if start.method == "lora":
        model = model.merge_and_unload()
    save_model(model, tokenizer, record, out)
    shutil.rmtree(run, ignore_errors=True)


def save_model(model: Any, tokenizer: Any, record: dict[str, Any], out: Path) -> None:
    """The model in bfloat16 (half the files; loading picks the dtype) with its tokenizer
    and record, written aside and renamed to ``out``."""
    import torch

    staging = out.parent / f".{out.name}.saving"
    shutil.rmtree(staging, ignore_errors=True)
    model.config.use_cache = True  # the Trainer turns the KV cache off; generation wants it
    model.to(torch.bfloat16).save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / RECORD_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
    apply_umask(staging)
    os.replace(staging, out)
