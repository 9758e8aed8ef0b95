"""Tuning speed and memory: LoRA against full finetuning on the same preferences.

The preferences are real: candidates composed by the model, the best of each batch
picked over its siblings. Each method then runs ``midicli.training.dpo.tune`` in its
own process, so the peak memory of one does not hide the other's: on the CPU the
growth of the process's peak RSS over what the imports took, on a GPU the peak
allocated CUDA memory. "adapter MiB" is what the run leaves in ``adapters/NAME``.

    .venv/bin/python bench/tune.py                               # tiny scaffold, CPU
    .venv/bin/python bench/tune.py --model models/1b --tokens 2046 --pairs 64   # e.g. on a GPU
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from midicli.engines.base import SamplingParams
from midicli.engines.scaffold import scaffold_model
from midicli.project import Project

DESCRIPTION = "A calm waltz for solo piano in three four time, gentle and slow, in a major key."
CANDIDATES = 5  # per request: one pick gives 4 pairs


def record_preferences(root: Path, model: str, pairs: int, tokens: int) -> None:
    """Compose batches and pick the candidate with the most notes until ``pairs`` exist."""
    from midicli.engines.pool import open_engine
    from midicli.generation import operations
    from midicli.project import preferences

    engine = open_engine("transformers", model)
    with Project.init(root, model=model) as project:
        seed = 0
        while len(project.preferences()) < pairs:
            created = operations.compose(
                project,
                engine,
                DESCRIPTION,
                SamplingParams(CANDIDATES, max_new_tokens=tokens, seed=seed),
            )
            if len(created) > 1:
                preferences.pick(
                    project, max(created, key=lambda c: len(c.candidate.notes)).record.ref
                )
            seed += 1


def run(root: Path, method: str, epochs: float, batch_size: int) -> dict[str, float]:
    """One tuning run in this process; what the parent prints."""
    import peft  # noqa: F401  (everything tune imports is in the baseline)

    import midicli.training.dpo_trainer  # noqa: F401
    from midicli.training.dpo import TuneSettings, tune

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    with Project.open(root) as project:
        started = time.perf_counter()
        record = tune(
            project, method, TuneSettings(method, epochs=epochs, batch_size=batch_size, holdout=0.0)
        )
        wall = time.perf_counter() - started
        stored = sum(f.stat().st_size for f in (project.root / record.path).glob("*.safetensors"))
    m = record.metrics
    if torch.cuda.is_available():
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - baseline
    return {
        "pairs": m["train_pairs"],
        "steps": m["steps"],
        "train_s": m["train_seconds"],
        "wall_s": wall,
        "pairs_per_s": m["train_pairs"] * epochs / m["train_seconds"],
        "peak_mib": peak / 2**20,
        "adapter_mib": stored / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder or hub id (default: a fresh tiny scaffold)")
    parser.add_argument("--pairs", type=int, default=24, help="preference pairs to train on")
    parser.add_argument(
        "--tokens", type=int, default=90, help="new tokens per candidate (3 per note)"
    )
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--methods", nargs="+", default=["lora", "full"])
    parser.add_argument("--run", help=argparse.SUPPRESS)  # child mode: METHOD:PROJECT
    args = parser.parse_args()
    if args.run:
        method, root = args.run.split(":", 1)
        print(json.dumps(run(Path(root), method, args.epochs, args.batch_size)))
        return
    with tempfile.TemporaryDirectory() as temp:
        model = args.model or str(scaffold_model(Path(temp) / "tiny", "tiny"))
        root = Path(temp) / "project"
        record_preferences(root, model, args.pairs, args.tokens)
        rows = []
        for method in args.methods:
            child = [
                sys.executable,
                __file__,
                "--run",
                f"{method}:{root}",
                "--epochs",
                str(args.epochs),
                "--batch-size",
                str(args.batch_size),
            ]
            result = json.loads(
                subprocess.run(
                    child, check=True, capture_output=True, text=True
                ).stdout.splitlines()[-1]
            )
            rows.append(
                [
                    method,
                    str(result["pairs"]),
                    str(result["steps"]),
                    f"{result['train_s']:.1f}",
                    f"{result['pairs_per_s']:.2f}",
                    f"{result['peak_mib']:.0f}",
                    f"{result['adapter_mib']:.1f}",
                ]
            )
    device = (
        torch.cuda.get_device_name()
        if torch.cuda.is_available()
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(
        f"model: {args.model or 'tiny scaffold'}; {args.tokens} new tokens per candidate; "
        f"{args.epochs:g} epochs; "
        f"batch {args.batch_size}; {device}"
    )
    memory = "peak CUDA MiB" if torch.cuda.is_available() else "peak RSS growth MiB"
    print(f"| method | pairs | steps | train s | pairs/s | {memory} | adapter MiB |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
