"""``train``: supervised next-token training on a dataset from ``dataset build``.

A run into ``OUT`` works in ``.OUT.run/`` beside it: its plan (what it trains and
how), the text tokenizer of a new model, and the Trainer's checkpoints; ``--resume``
goes on from the last checkpoint of the same plan. The finished model is written
aside and renamed to ``OUT``: a complete model folder in the MIDI-LLM layout that
``load_model`` and every engine read, with ``training.json`` saying how it was made.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from midicli.generation.prompt import build_prompt, system_prompt, text_ids
from midicli.tokenizers.vocab import ANTICIPATE
from midicli.training import TrainingError
from midicli.training.dataset import read_manifest, read_split
from midicli.training.run import (
    StepReport,
    TrainEvent,
    TrainProgress,
    changed,
    logged,
    put_in_place,
    saved_plan,
    saving_folder,
    train_from_checkpoint,
    write_plan,
)
from midicli.training.settings import IGNORE, Start, TrainSettings

RECORD_FILE = "training.json"


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
            "no training sequence has room for music after its caption within --max-length "
            f"{settings.max_length}: raise it"
        )
    drawn = (
        _drawn(dataset, run, encode, settings)
        if settings.transpose or settings.openings
        else rows["train"]
    )
    trainer, resumed_at, seconds = _train(
        model, tokenizer, drawn, rows["validation"], plan, run, target, report
    )
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


def _plan(
    run: Path, start: Start, settings: TrainSettings, manifest: dict[str, Any]
) -> dict[str, Any]:
    """The run's plan: written when it begins, compared when it resumes."""
    wanted = {
        "start": asdict(start),
        "settings": asdict(settings),
        "dataset": {key: manifest[key] for key in ("created", "source", "settings")},
    }
    plan = saved_plan(run)
    if plan is None:
        write_plan(run, wanted)
        return wanted
    moved = sorted(
        f"{part}.{key}"
        for part in ("start", "settings", "dataset")
        for key in changed(plan[part], wanted[part])
    )
    if moved:
        raise TrainingError(
            f"the interrupted run used other settings ({', '.join(moved)}): "
            "pass the same ones to resume, or --restart to start over"
        )
    return plan


def _starting_model(
    start: Start, run: Path, dataset: Path, seed: int, device: Any
) -> tuple[Any, Any, int]:
    """(model in float32, text tokenizer, text vocabulary size)."""
    import torch

    from midicli.engines.models import load_model, quiet_transformers

    quiet_transformers()
    if start.model is not None:
        loaded = load_model(
            start.model, device=device, dtype="float32"
        )  # master weights that can take small steps
        model = loaded.model
        if start.method == "lora":
            from peft import LoraConfig, get_peft_model

            config = LoraConfig(
                r=start.lora_rank,
                lora_alpha=2 * start.lora_rank,
                target_modules="all-linear",
                task_type="CAUSAL_LM",
            )
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
        tokenizer = build_text_tokenizer(
            [system_prompt(), *captions], vocab_size=start.shape.text_vocab
        )
        tokenizer.save_pretrained(saved)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM._from_config(
            scaffold_config(start.shape, tokenizer), dtype=torch.float32
        )
    start_music_rows(model, tokenizer, start.shape.text_vocab, seed)
    return model, tokenizer, start.shape.text_vocab


def _encoder(
    tokenizer: Any, text_vocab_size: int, max_length: int
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Row → MIDI-LLM sequence (caption prompt, mode token, music) cut to ``max_length``.
    Only the music is learned, as the prompt is always given; ``learns`` is false when
    the caption leaves no room for music."""

    def encode(row: dict[str, Any]) -> dict[str, Any]:
        music = row["music"]
        text = text_ids(tokenizer, row["caption"])
        ids = build_prompt(text, text_vocab_size, music[1:], anticipate=music[0] == ANTICIPATE)
        given = len(text) + 1
        labels = [IGNORE] * given + ids[given:]
        return {
            "input_ids": ids[:max_length],
            "labels": labels[:max_length],
            "length": min(len(ids), max_length),
            "cut": len(ids) > max_length,
            "learns": given < max_length,
        }

    return encode


def _sequences(
    dataset: Path, run: Path, encode: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """The train and validation splits encoded (None for an empty split)."""
    from midicli.training.sft_trainer import encoded

    return {
        split: encoded(dataset / f"{split}.jsonl", encode, run / "cache")
        for split in ("train", "validation")
    }


def _drawn(
    dataset: Path,
    run: Path,
    encode: Callable[[dict[str, Any]], dict[str, Any]],
    settings: TrainSettings,
) -> Any:
    """The train split drawn in random transpositions (see ``training.transpose``) and
    with extra openings."""
    from midicli.training.sft_trainer import Drawn

    return Drawn(dataset / "train.jsonl", encode, settings, run / "cache")


def _train(
    model: Any,
    tokenizer: Any,
    train: Any,
    validation: Any,
    plan: dict[str, Any],
    run: Path,
    device: Any,
    report: TrainProgress,
) -> tuple[Any, int, float]:
    """Train from the last checkpoint in ``run`` (if any), then measure the final
    weights' validation loss; returns the trainer, the step it resumed at and the
    seconds spent training."""
    from midicli.training.sft_trainer import build_trainer

    def build(step: StepReport) -> Any:
        return build_trainer(
            model, tokenizer, train, validation, plan["settings"], run / "checkpoints", device, step
        )

    trainer, resumed_at, seconds = train_from_checkpoint(run / "checkpoints", build, report)
    step_now = trainer.state.global_step
    if trainer.eval_dataset is not None and not any(
        "eval_loss" in e and e["step"] == step_now for e in trainer.state.log_history
    ):
        trainer.evaluate()  # the validation loss of the final weights
    return trainer, resumed_at, seconds


def _metrics(trainer: Any, rows: dict[str, Any], resumed_at: int, seconds: float) -> dict[str, Any]:
    losses, evals = (
        logged(trainer.state.log_history, "loss"),
        logged(trainer.state.log_history, "eval_loss"),
    )
    return {
        "steps": trainer.state.global_step,
        "train_loss": {
            "first": _round(losses[0]) if losses else None,
            "last": _round(losses[-1]) if losses else None,
        },
        "validation_loss": {
            "start": _round(evals[0]) if evals else None,
            "end": _round(evals[-1]) if evals else None,
        },
        "sequences": {
            split: len(found) if found is not None else 0 for split, found in rows.items()
        },
        "cut_sequences": sum(sum(found["cut"]) for found in rows.values() if found is not None),
        "tokens": sum(rows["train"]["length"]),
        "train_seconds": round(seconds, 1),
        "resumed_at": resumed_at,
    }


def _round(value: float) -> float:
    return round(float(value), 4)


def _save(
    trainer: Any, tokenizer: Any, start: Start, record: dict[str, Any], out: Path, run: Path
) -> None:
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

    staging = saving_folder(out)
    model.config.use_cache = True  # the Trainer turns the KV cache off; generation wants it
    model.to(torch.bfloat16).save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / RECORD_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
    put_in_place(staging, out)
