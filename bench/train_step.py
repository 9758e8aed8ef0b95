"""Training step time: midicli's loss (the vocabulary projection only where music is
learned) against the model's own causal-LM loss (logits at every position), on the
bundled mini recipe's shape.

Batches are the two kinds a mini run draws: whole sequences (a ~90-token caption
prompt, then ~1,000 music tokens) and openings (the prompt, then a few notes). The
ids are random: the time of a step does not depend on them. Each cell is the median
of the timed steps (forward, backward, AdamW) after one untimed step.

    .venv/bin/python bench/train_step.py
    .venv/bin/python bench/train_step.py --steps 10 --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import torch
from datasets import Dataset
from transformers import LlamaForCausalLM

from midicli.engines.scaffold import build_text_tokenizer, scaffold_config
from midicli.training.recipe import load_recipe
from midicli.training.settings import IGNORE
from midicli.training.sft_trainer import build_trainer

REPO = Path(__file__).resolve().parents[1]
PROMPT = 90  # caption prompt tokens, about what the mini captions take
KINDS = {"whole sequences": (8, 1000), "4-note openings": (64, 13), "16-note openings": (8, 49)}


def batch(
    size: int, music: int, text_vocab: int, vocab: int, device: torch.device
) -> dict[str, torch.Tensor]:
    ids = torch.cat(
        [
            torch.randint(0, text_vocab, (size, PROMPT)),
            torch.randint(text_vocab, vocab, (size, music)),
        ],
        1,
    )
    labels = ids.clone()
    labels[:, :PROMPT] = IGNORE
    return {
        "input_ids": ids.to(device),
        "attention_mask": torch.ones_like(ids).to(device),
        "labels": labels.to(device),
    }


def median_step(
    model: LlamaForCausalLM, loss, inputs: dict[str, torch.Tensor], steps: int
) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = []
    for step in range(steps + 1):
        started = time.perf_counter()
        loss(inputs).backward()
        optimizer.step()
        optimizer.zero_grad()
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    recipe = load_recipe(REPO / "recipes" / "mini.toml")
    tokenizer = build_text_tokenizer()
    model = LlamaForCausalLM._from_config(
        scaffold_config(recipe.start.shape, tokenizer), dtype=torch.float32
    ).to(device)
    settings = asdict(recipe.settings.checked(recipe.start))
    with tempfile.TemporaryDirectory() as scratch:
        trainer = build_trainer(
            model,
            tokenizer,
            Dataset.from_dict({"input_ids": [[0]], "labels": [[0]]}),
            None,
            settings,
            Path(scratch),
            device,
            None,
        )
    text_vocab, vocab = recipe.start.shape.text_vocab, model.config.vocab_size
    print(
        f"mini shape, {device.type}, {torch.get_num_threads()} threads; median of {args.steps} "
        "steps\n"
    )
    print("| batch | sequences × tokens | model's loss s | midicli's loss s | speed-up |")
    print("|---|---|---|---|---|")
    for kind, (size, music) in KINDS.items():
        inputs = batch(size, music, text_vocab, vocab, device)
        full = median_step(model, lambda b: model(**b).loss, inputs, args.steps)
        learned = median_step(
            model, lambda b: trainer.compute_loss(model, dict(b)), inputs, args.steps
        )
        print(
            f"| {kind} | {size} × {PROMPT + music} | {full:.2f} | {learned:.2f} | "
            f"{full / learned:.1f}× |"
        )


if __name__ == "__main__":
    main()
