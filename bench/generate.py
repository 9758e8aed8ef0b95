"""Generation speed: midicli's transformers engine against plain ``model.generate``.

The baseline runs the way MIDI-LLM's own script does: Hugging Face ``generate`` with
temperature/top-p sampling and a logits mask that forbids every text id. Our engine
runs once with the same music-only mask (same work, our loop) and once with the AMT
grammar (the real compose path). On a random-weight scaffold the grammar rows reach
99.99 s within ~100 tokens and stop; a trained model runs much longer.

    .venv/bin/python bench/generate.py           # tiny scaffold, CPU, 3 interleaved rounds
    .venv/bin/python bench/generate.py --model models/1b --tokens 2046   # e.g. on a GPU
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from midicli.engines.base import Request, SamplingParams
from midicli.engines.models import LoadedModel, load_model
from midicli.engines.scaffold import scaffold_model
from midicli.engines.transformers import TransformersEngine
from midicli.generation.prompt import build_prompt, text_ids
from midicli.tokenizers.amt_generation import GrammarSpec
from midicli.tokenizers.vocab import MAX_TIME, MUSIC_VOCAB_SIZE, TIME_OFFSET, TIME_RESOLUTION

DESCRIPTION = "A cheerful folk dance for fiddle and accordion, lively, in six eight time."


@dataclass
class Result:
    runner: str
    n: int
    tokens: int
    wall_s: float
    music_s: float  # summed over the n candidates

    def row(self) -> list[str]:
        return [
            self.runner,
            str(self.n),
            str(self.tokens),
            f"{self.wall_s:.2f}",
            f"{self.tokens / self.wall_s:.0f}",
            f"{self.music_s:.1f}",
            f"{self.music_s / self.wall_s:.2f}",
        ]


def music_seconds(music_ids: list[int]) -> float:
    """Length of a generated piece: its last TIME token (arrival time, 10 ms units) / 100."""
    times = [t - TIME_OFFSET for t in music_ids if TIME_OFFSET <= t < TIME_OFFSET + MAX_TIME]
    return times[-1] / TIME_RESOLUTION if times else 0.0


class MusicOnly(LogitsProcessor):
    """Forbids every text id: the only constraint MIDI-LLM's script applies."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.mask = torch.full((loaded.vocab_size,), float("-inf"), device=loaded.device)
        self.mask[loaded.text_vocab_size : loaded.text_vocab_size + MUSIC_VOCAB_SIZE] = 0.0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return scores + self.mask


def _sync(loaded: LoadedModel) -> None:
    if loaded.device.type == "cuda":
        torch.cuda.synchronize()


def run_hf(loaded: LoadedModel, prompt: list[int], n: int, tokens: int, seed: int) -> Result:
    torch.manual_seed(seed)
    inputs = torch.tensor([prompt], device=loaded.device)
    _sync(loaded)
    start = time.perf_counter()
    with torch.inference_mode():
        out = loaded.model.generate(
            input_ids=inputs,
            attention_mask=torch.ones_like(inputs),
            do_sample=True,
            temperature=1.0,
            top_p=0.98,
            top_k=0,
            max_new_tokens=tokens,
            num_return_sequences=n,
            logits_processor=LogitsProcessorList([MusicOnly(loaded)]),
            pad_token_id=loaded.eos_id,
        )
    rows = out[:, len(prompt) :].tolist()
    wall = time.perf_counter() - start
    music = [[t - loaded.text_vocab_size for t in row] for row in rows]
    return Result(
        "hf generate, music mask", n, sum(map(len, rows)), wall, sum(map(music_seconds, music))
    )


def run_engine(
    engine: TransformersEngine,
    prompt: list[int],
    n: int,
    tokens: int,
    seed: int,
    grammar: GrammarSpec | None,
) -> Result:
    request = Request(
        prompt,
        SamplingParams(n=n, temperature=1.0, top_p=0.98, max_new_tokens=tokens, seed=seed),
        grammar,
    )
    _sync(engine.loaded)
    start = time.perf_counter()
    completions = engine.generate(request)
    wall = time.perf_counter() - start
    music = [[t - engine.text_vocab_size for t in c.token_ids] for c in completions]
    label = "midicli, AMT grammar" if grammar else "midicli, music mask"
    return Result(label, n, sum(map(len, music)), wall, sum(map(music_seconds, music)))


def median(results: list[Result]) -> Result:
    """The run with the median wall time among repeats of one runner."""
    return sorted(results, key=lambda r: r.wall_s)[len(results) // 2]


def print_table(results: list[Result]) -> None:
    header = ["runner", "n", "tokens", "wall s", "tokens/s", "music s", "real-time x"]
    rows = [header] + [r.row() for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths))
            )
        )
        if index == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", help="model folder or hub id (default: a tiny scaffold in a temp folder)"
    )
    parser.add_argument("--tokens", type=int, default=2046, help="new tokens per candidate")
    parser.add_argument("--n", type=int, nargs="+", default=[1, 4], help="candidate counts to time")
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved rounds; the median wall time is shown"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or scaffold_model(Path(scratch) / "tiny", "tiny")
        loaded = load_model(model, device=args.device, dtype=args.dtype)
    engine = TransformersEngine(loaded)
    prompt = build_prompt(text_ids(loaded.tokenizer, DESCRIPTION), loaded.text_vocab_size)
    parameters = sum(p.numel() for p in loaded.model.parameters())
    print(
        f"model {loaded.model_id if args.model else 'tiny scaffold'} ({parameters / 1e6:.1f} M "
        "parameters), "
        f"{loaded.device} {str(loaded.dtype).removeprefix('torch.')}, torch threads "
        f"{torch.get_num_threads()}, "
        f"{args.tokens} new tokens, prompt {len(prompt)} tokens"
    )
    print(
        "music s: last TIME token / 100, summed over candidates; real-time x = music s / wall s\n"
    )

    run_hf(loaded, prompt, 1, 8, args.seed)  # warm-up: first calls pay one-off costs
    run_engine(engine, prompt, 1, 8, args.seed, None)
    results = []
    for n in args.n:
        runs: list[list[Result]] = []
        for _ in range(
            args.repeat
        ):  # interleaved, so a busy spell on the machine hits every runner alike
            runs.append(
                [
                    run_hf(loaded, prompt, n, args.tokens, args.seed),
                    run_engine(engine, prompt, n, args.tokens, args.seed, None),
                    run_engine(engine, prompt, n, args.tokens, args.seed, GrammarSpec()),
                ]
            )
        results += [median(list(same)) for same in zip(*runs)]
    print_table(results)


if __name__ == "__main__":
    main()
