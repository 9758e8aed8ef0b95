"""What the next-token and the DPO Trainer are set up with alike (imported only when a
run starts: needs the ``train`` extra): arguments for the device, and their logged
losses handed to a plain callable (the library does not draw progress)."""

from __future__ import annotations

from typing import Any

import torch
from transformers import PrinterCallback, Trainer, TrainerCallback

from midicli.training.run import StepReport


def device_arguments(device: torch.device) -> dict[str, Any]:
    """Training arguments for ``device``: bfloat16 mixed precision on a GPU that has it,
    and no progress bars or logging services of the library's own."""
    return {
        "use_cpu": device.type == "cpu",
        "bf16": device.type == "cuda" and torch.cuda.is_bf16_supported(),
        "report_to": "none",
        "disable_tqdm": True,
    }


def report_steps(trainer: Trainer, report: StepReport | None) -> None:
    """Hand the losses ``trainer`` logs to ``report`` instead of printing them."""
    trainer.remove_callback(PrinterCallback)  # it prints every log line
    if report is not None:
        trainer.add_callback(_Reporter(report))


class _Reporter(TrainerCallback):
    """Hands each logged training or validation loss to a plain callable."""

    def __init__(self, report: StepReport) -> None:
        self.report = report

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **_: Any
    ) -> None:
        if logs and ("loss" in logs or "eval_loss" in logs):
            loss, eval_loss = logs.get("loss"), logs.get("eval_loss")
            self.report(
                state.global_step,
                state.max_steps,
                float(state.epoch or 0.0),
                None if loss is None else float(loss),
                None if eval_loss is None else float(eval_loss),
            )
