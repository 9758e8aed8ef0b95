"""trl's DPOTrainer set up for music ids (imported only when a run starts: needs the
``train`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch
from datasets import Dataset
from transformers import PrinterCallback, TrainerCallback
from trl import DPOConfig, DPOTrainer

from midicli.engines.models import LoadedModel
from midicli.training.preference_data import Pair

# (global step, total steps, epoch, latest training loss)
StepReport = Callable[[int, int, float, float | None], None]


class TokenDPOTrainer(DPOTrainer):
    """DPO on the recorded ids as they are. trl prepares a dataset by tokenizing text
    columns; ours already holds ``prompt_ids``/``chosen_ids``/``rejected_ids`` (what its
    collator consumes), so preparation passes it through and training sees exactly
    the ids the model wrote."""

    def _prepare_dataset(self, dataset: Dataset, processing_class: Any, args: DPOConfig, dataset_name: str) -> Dataset:
        return dataset


class _Reporter(TrainerCallback):
    """Hands each logged step to a plain callable (the library does not draw progress)."""

    def __init__(self, report: StepReport) -> None:
        self.report = report

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **_: Any) -> None:
        if logs and "loss" in logs:
            self.report(state.global_step, state.max_steps, float(state.epoch or 0.0), float(logs["loss"]))


def build_trainer(
    loaded: LoadedModel,
    train: list[Pair],
    settings: dict[str, Any],
    run_dir: Path,
    save_steps: int,
    report: StepReport | None,
) -> TokenDPOTrainer:
    """LoRA on every linear layer but the output head (PEFT cannot train a tied head in
    DPO) or, with ``method="full"``, all weights against a frozen copy of the base."""
    gpu = loaded.device.type == "cuda"
    config = DPOConfig(
        output_dir=str(run_dir),
        num_train_epochs=settings["epochs"],
        learning_rate=settings["learning_rate"],
        beta=settings["beta"],
        max_length=settings["max_length"],
        per_device_train_batch_size=settings["batch_size"],
        seed=settings["seed"],
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=1,
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
        use_cpu=loaded.device.type == "cpu",
        bf16=gpu and torch.cuda.is_bf16_supported(),
        gradient_checkpointing=gpu,  # memory matters there; on a CPU it only costs time
    )
    peft_config = None
    if settings["method"] == "lora":
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=settings["lora_rank"], lora_alpha=settings["lora_alpha"], target_modules="all-linear", task_type="CAUSAL_LM"
        )
    trainer = TokenDPOTrainer(
        model=loaded.model,
        args=config,
        train_dataset=Dataset.from_list([pair.row() for pair in train]),
        processing_class=loaded.tokenizer,
        peft_config=peft_config,
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log line; progress goes to ``report``
    if report is not None:
        trainer.add_callback(_Reporter(report))
    return trainer
