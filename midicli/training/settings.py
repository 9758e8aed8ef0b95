"""What a next-token training run is told: where it starts and how it trains. Both the
run (``train``) and the Trainer it builds (``sft_trainer``) read these."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from midicli.training import TrainingError

if TYPE_CHECKING:
    from midicli.engines.scaffold import Shape  # imports transformers: only where a model is built

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
            raise TrainingError(
                "train a new model (--size or a recipe's [model] shape) or start from one (--from "
                "MODEL), not both"
            )
        if self.method not in METHODS:
            raise TrainingError(
                f"the method must be one of {', '.join(METHODS)}, not {self.method!r}"
            )
        if self.shape is not None and self.method != "full":
            raise TrainingError("a new model trains all its weights: --lora needs --from MODEL")
        if self.shape is not None and self.shape.hidden % self.shape.heads:
            raise TrainingError(
                f"hidden size {self.shape.hidden} must be a multiple of the {self.shape.heads} "
                "heads"
            )
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
    # above 0: each training draw moves the music and its caption's key up to this many semitones
    transpose: int = 0
    # above 0: each sequence is drawn this many more times cut to its opening (trainer.opening)
    openings: int = 0
    opening_notes: int = 16  # the notes an opening keeps
    whole: bool = True  # False: only the openings are drawn (a pass that teaches how pieces begin)
    eval_steps: int = 100
    save_steps: int = 100
    logging_steps: int = 10
    seed: int = 0

    def checked(self, start: Start) -> TrainSettings:
        for name in (
            "epochs",
            "batch_size",
            "gradient_accumulation",
            "max_length",
            "eval_steps",
            "save_steps",
            "logging_steps",
        ):
            if not getattr(self, name) > 0:
                raise TrainingError(
                    f"--{name.replace('_', '-')} must be above 0, got {getattr(self, name)}"
                )
        if not 0 <= self.transpose <= 12:
            raise TrainingError(
                f"--transpose is a number of semitones from 0 to 12, got {self.transpose}"
            )
        if self.openings < 0:
            raise TrainingError(
                f"--openings is a number of extra draws, at least 0, got {self.openings}"
            )
        if self.opening_notes < 1:
            raise TrainingError(f"--opening-notes must be above 0, got {self.opening_notes}")
        if not self.whole and not self.openings:
            raise TrainingError("--openings-only draws the openings: give --openings 1 or more")
        if self.max_steps < 0 or not 0 <= self.warmup < 1 or self.weight_decay < 0:
            raise TrainingError(
                "--max-steps and --weight-decay must be at least 0, --warmup from 0 to below 1"
            )
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise TrainingError(f"--learning-rate must be above 0, got {self.learning_rate}")
        return replace(self, learning_rate=self.learning_rate or DEFAULT_LEARNING_RATES[start.kind])
