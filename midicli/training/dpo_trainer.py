"""trl's DPOTrainer set up for music ids (imported only when a run starts: needs the
``train`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Dataset
from trl import DPOConfig, DPOTrainer

from midicli.engines.models import LoadedModel
from midicli.training.preference_data import Pair
from midicli.training.run import StepReport
from midicli.training.trainer_setup import device_arguments, report_steps


class TokenDPOTrainer(DPOTrainer):
    """DPO on the recorded ids as they are. trl prepares a dataset by tokenizing text
    columns; ours already holds ``prompt_ids``/``chosen_ids``/``rejected_ids`` (what its
    collator consumes), so preparation passes it through and training sees exactly
    the ids the model wrote."""

    def _prepare_dataset(
        self, dataset: Dataset, processing_class: Any, args: DPOConfig, dataset_name: str
    ) -> Dataset:
        return dataset


def build_trainer(
    loaded: LoadedModel,
    train: list[Pair],
    settings: dict[str, Any],
    checkpoints: Path,
    save_steps: int,
    report: StepReport | None,
) -> TokenDPOTrainer:
    """LoRA on every linear layer but the output head (PEFT cannot train a tied head in
    DPO) or, with ``method="full"``, all weights against a frozen copy of the base."""
    config = DPOConfig(
        output_dir=str(checkpoints),
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
        gradient_checkpointing=loaded.device.type
        == "cuda",  # memory matters there; on a CPU it only costs time
        **device_arguments(loaded.device),
    )
    peft_config = None
    if settings["method"] == "lora":
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=settings["lora_rank"],
            lora_alpha=settings["lora_alpha"],
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
    trainer = TokenDPOTrainer(
        model=loaded.model,
        args=config,
        train_dataset=Dataset.from_list([pair.row() for pair in train]),
        processing_class=loaded.tokenizer,
        peft_config=peft_config,
    )
    report_steps(trainer, report)
    return trainer
