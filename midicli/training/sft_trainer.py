"""transformers' Trainer set up for next-token training on token ids (imported only
when a run starts: needs the ``train`` extra)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import torch
from datasets import Dataset
from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

from midicli.training.run import StepReport
from midicli.training.settings import IGNORE, TrainSettings
from midicli.training.trainer_setup import device_arguments, report_steps
from midicli.training.transpose import transpose_row

datasets.disable_progress_bars()  # the CLI draws its own progress
datasets.logging.set_verbosity_error()

_COLUMNS = ["input_ids", "labels"]


def encoded(
    path: Path, encode: Callable[[dict[str, Any]], dict[str, Any]], cache: Path
) -> Dataset | None:
    """A split file's rows encoded by ``encode`` into a memory-mapped Arrow dataset (so a
    big dataset never sits in memory as Python lists), keeping the rows it ``learns``
    from; None for an empty split."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    rows = Dataset.from_json(str(path), cache_dir=str(cache))
    return rows.map(encode, remove_columns=rows.column_names).filter(
        lambda learns: learns, input_columns="learns"
    )


class Drawn(torch.utils.data.Dataset):
    """A split file's rows encoded as the Trainer draws them: each time moved by a random
    number of semitones (up to ``transpose`` either way), whole (unless ``whole`` is off)
    and ``openings`` more times cut to its opening (see ``opening``). torch's generator
    draws the shifts, so a resumed run, whose generator state the Trainer restores, goes
    on alike."""

    def __init__(
        self,
        path: Path,
        encode: Callable[[dict[str, Any]], dict[str, Any]],
        settings: TrainSettings,
        cache: Path,
    ) -> None:
        rows = Dataset.from_json(str(path), cache_dir=str(cache)).select_columns(
            ["caption", "music"]
        )
        self.rows = rows.filter(lambda row: encode(row)["learns"])
        self.encode = encode
        self.semitones = settings.transpose
        self.notes = settings.opening_notes
        self.wholes = int(settings.whole)
        self.copies = self.wholes + settings.openings

    def __len__(self) -> int:
        return len(self.rows) * self.copies

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        if not 0 <= index < len(self):
            raise IndexError(index)  # ends iteration: the Trainer measures lengths by iterating
        row = self.rows[index % len(self.rows)]
        if self.semitones:
            row = transpose_row(row, int(torch.randint(-self.semitones, self.semitones + 1, ())))
        if index >= len(self.rows) * self.wholes:
            row = opening(row, self.notes)
        encoded = self.encode(row)
        return {name: encoded[name] for name in _COLUMNS}


def opening(row: dict[str, Any], notes: int) -> dict[str, Any]:
    """The row cut to its first ``notes`` notes: the caption decides how a piece begins
    (its key, its instruments), and only there; later notes can follow the music before
    them. A short copy makes that lesson cheap to draw often."""
    return row | {
        "music": row["music"][: 1 + 3 * notes]
    }  # the mode token, then (time, duration, note)s


class _LearnedLogits(Trainer):
    """The Trainer with a loss that projects onto the vocabulary only where a label is
    learned: a prompt's positions never need their 56,000-way logits, and they are most
    of an opening's tokens (the projection is most of a small model's work)."""

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        causal = self.accelerator.unwrap_model(model)
        if hasattr(
            causal, "get_base_model"
        ):  # a LoRA run: the adapter's layers sit inside the base model
            causal = causal.get_base_model()
        with self.accelerator.autocast():
            hidden = causal.model(
                input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]
            ).last_hidden_state
        targets = inputs["labels"][:, 1:]
        learned = targets != IGNORE
        logits = causal.lm_head(hidden[:, :-1][learned]).float()
        loss = torch.nn.functional.cross_entropy(logits, targets[learned], reduction="sum")
        # over the whole accumulated batch when the Trainer counted it (it then does not divide
        # again), else the mean
        loss = loss / (
            num_items_in_batch if num_items_in_batch is not None else learned.sum().clamp(min=1)
        )
        return (loss, {"loss": loss}) if return_outputs else loss


def build_trainer(
    model: Any,
    tokenizer: Any,
    train: Dataset | Drawn,
    validation: Dataset | None,
    settings: dict[str, Any],
    checkpoints: Path,
    device: torch.device,
    report: StepReport | None,
) -> Trainer:
    """A Trainer over the ``input_ids`` and ``labels`` of the rows, padded per batch; it
    logs, evaluates (from step 0) and keeps checkpoints every so many steps."""
    if (
        tokenizer.pad_token is None
    ):  # Llama 3's tokenizer has none; padded positions are masked anyway
        tokenizer.pad_token = tokenizer.eos_token
    evaluate = validation is not None and len(validation) > 0
    args = TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=settings["epochs"],
        max_steps=settings["max_steps"] or -1,
        learning_rate=settings["learning_rate"],
        lr_scheduler_type="cosine",
        warmup_steps=settings["warmup"],
        weight_decay=settings["weight_decay"],
        per_device_train_batch_size=settings["batch_size"],
        per_device_eval_batch_size=settings["batch_size"],
        gradient_accumulation_steps=settings["gradient_accumulation"],
        eval_strategy="steps" if evaluate else "no",
        eval_steps=settings["eval_steps"],
        eval_on_start=evaluate,
        save_strategy="steps",
        save_steps=settings["save_steps"],
        save_total_limit=2,
        logging_steps=settings["logging_steps"],
        logging_first_step=True,
        seed=settings["seed"],
        train_sampling_strategy="group_by_length",  # less padding per batch
        **device_arguments(device),
    )
    trainer = _LearnedLogits(
        model=model,
        args=args,
        train_dataset=train if isinstance(train, Drawn) else train.select_columns(_COLUMNS),
        eval_dataset=validation.select_columns(_COLUMNS) if evaluate else None,
        data_collator=DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE),
        processing_class=tokenizer,
    )
    report_steps(trainer, report)
    return trainer
