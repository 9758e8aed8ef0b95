"""How well a model agrees with held-out preferences.

``accuracy``: the share of pairs in which the model gives the chosen continuation a
higher log-likelihood than the rejected one. ``margin``: the mean of
β·(log π(chosen) − log π(rejected)). Both mean something for the base model too, and
the margin after tuning minus the margin before is exactly DPO's implicit reward
margin on those pairs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from midicli.training.preference_data import Pair

if TYPE_CHECKING:  # torch loads only when a model is measured, not with every command
    import torch


def sequence_logprob(
    model: Any, prompt: list[int], completion: list[int], device: torch.device
) -> float:
    """log π(completion | prompt), with logits kept only where completion ids are predicted."""
    import torch

    ids = torch.tensor([prompt + completion], device=device)
    logits = model(input_ids=ids, logits_to_keep=len(completion) + 1).logits[0, :-1].float()
    targets = torch.tensor(completion, device=device)
    return float(torch.log_softmax(logits, dim=-1).gather(-1, targets[:, None]).sum())


def preference_metrics(
    model: Any, pairs: list[Pair], beta: float, device: torch.device
) -> dict[str, Any] | None:
    """``accuracy`` and ``margin`` over ``pairs`` (None without pairs), one sequence at a
    time so that a long completion over a large vocabulary still fits in memory."""
    import torch

    if not pairs:
        return None
    was_training = model.training
    model.eval()
    differences = []
    with torch.inference_mode():
        for pair in pairs:
            chosen = sequence_logprob(model, pair.prompt_ids, pair.chosen_ids, device)
            rejected = sequence_logprob(model, pair.prompt_ids, pair.rejected_ids, device)
            differences.append(chosen - rejected)
    model.train(was_training)
    return {
        "pairs": len(pairs),
        "accuracy": sum(d > 0 for d in differences) / len(differences),
        "margin": beta * sum(differences) / len(differences),
    }
