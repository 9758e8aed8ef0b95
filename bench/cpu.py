"""MIDI-LLM on a CPU: tokens/s, resident memory and the memory roofline, per precision.

Decoding one token reads every weight the step uses once, so a CPU's ceiling is its
memory bandwidth divided by those bytes. This bench measures the bandwidth itself
(a large tensor copy, again right after each run, as the run found the machine), then runs
side by side, each in a fresh process (so resident memory is its own): plain transformers
``generate`` in bfloat16 with a music mask (MIDI-LLM's own script's way, full output head),
and our engine in bfloat16 and at each quantization (music-only head). For the
quantized runs it also reports how faithful they are to the bfloat16 engine: top-1 agreement
and KL of the next-token distributions over a real piece (tests/data/amt, teacher-forced).

    midicli model scaffold /tmp/midicli-1b --size 1b      # MIDI-LLM's shape, random weights
    .venv/bin/python bench/cpu.py --model /tmp/midicli-1b --tokens 64
    .venv/bin/python bench/cpu.py                          # tiny scaffold: a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

RUNNERS = ["hf-bf16", "engine-bf16", "engine-int8", "engine-int4"]
LABELS = {
    "hf-bf16": "transformers generate, bfloat16, music mask",
    "engine-bf16": "midicli engine, bfloat16",
    "engine-int8": "midicli engine, int8 weights and activations",
    "engine-int4": "midicli engine, int4 weights",
}
DESCRIPTION = "A cheerful folk dance for fiddle and accordion, lively, in six eight time."
PIECE = Path(__file__).parents[1] / "tests" / "data" / "amt" / "bach_bwv66_6.tokens.json"


def bandwidth_gb_s(megabytes: int = 1024, repeats: int = 5) -> float:
    """Memory bandwidth in GB/s: bytes read + written by the fastest of a few copies of
    a tensor far larger than any cache."""
    source = torch.ones(megabytes * 2**20 // 4)
    target = torch.empty_like(source)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        target.copy_(source)
        best = min(best, time.perf_counter() - start)
    return 2 * source.numel() * 4 / best / 1e9


def tensor_bytes(module: torch.nn.Module) -> int:
    """Bytes of a module's weights; a quantized layer says its own (``nbytes``: int8's are
    packed for fbgemm, in no tensor of the module)."""
    if isinstance(getattr(module, "nbytes", None), int):
        return module.nbytes
    own = [*module.parameters(recurse=False), *module.buffers(recurse=False)]
    return sum(t.numel() * t.element_size() for t in own) + sum(
        tensor_bytes(m) for m in module.children()
    )


def step_bytes(model: torch.nn.Module, head_bytes: int) -> int:
    """Weight bytes one decoding step reads: the transformer blocks and final norm (not
    the input embeddings, of which a step reads one row), plus the output head."""
    decoder = model.get_decoder()
    return tensor_bytes(decoder) - tensor_bytes(decoder.get_input_embeddings()) + head_bytes


def peak_resident_gb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited
    from the parent that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e9
    return float("nan")


def run_one(runner: str, model: str, tokens: int, seed: int, reference: Path) -> dict[str, object]:
    """Load, warm up, time ``tokens`` new tokens, and (for the engine) the faithfulness
    figures; the bfloat16 engine writes the reference log-probabilities to ``reference``
    (without a bfloat16 run first, the quantized ones skip the comparison)."""
    from transformers import LogitsProcessorList

    from midicli.engines.base import Request, SamplingParams
    from midicli.engines.models import load_model
    from midicli.engines.transformers import TransformersEngine
    from midicli.generation.prompt import build_prompt, text_ids
    from midicli.tokenizers.vocab import MUSIC_VOCAB_SIZE

    kind, precision = runner.split("-")
    start = time.perf_counter()
    loaded = load_model(
        model, device="cpu", dtype="bfloat16", quantize="none" if precision == "bf16" else precision
    )
    load_s = time.perf_counter() - start
    prompt = build_prompt(text_ids(loaded.tokenizer, DESCRIPTION), loaded.text_vocab_size)
    result: dict[str, object] = {
        "runner": runner,
        "load_s": load_s,
        "threads": torch.get_num_threads(),
    }
    if kind == "hf":
        mask = torch.full((loaded.vocab_size,), float("-inf"))
        mask[loaded.text_vocab_size : loaded.text_vocab_size + MUSIC_VOCAB_SIZE] = 0.0

        def generate(count: int) -> int:
            inputs = torch.tensor([prompt])
            with torch.inference_mode():
                out = loaded.model.generate(
                    input_ids=inputs,
                    attention_mask=torch.ones_like(inputs),
                    do_sample=True,
                    temperature=1.0,
                    top_p=0.98,
                    top_k=0,
                    max_new_tokens=count,
                    min_new_tokens=count,
                    pad_token_id=loaded.eos_id,
                    logits_processor=LogitsProcessorList([lambda _, scores: scores + mask]),
                )
            return out.shape[1] - len(prompt)

        head = loaded.model.get_output_embeddings()
        result["step_bytes"] = step_bytes(loaded.model, tensor_bytes(head))
    else:
        engine = TransformersEngine(loaded)

        def generate(count: int) -> int:
            sampling = SamplingParams(
                n=1, temperature=1.0, top_p=0.98, max_new_tokens=count, seed=seed
            )
            return len(engine.generate(Request(prompt, sampling))[0].token_ids)

        result["step_bytes"] = step_bytes(loaded.model, engine._head.bytes_read())
    torch.manual_seed(seed)
    generate(4)  # warm-up: first calls pay one-off costs
    start = time.perf_counter()
    made = generate(tokens)
    result["tokens_per_s"] = made / (time.perf_counter() - start)
    result["rss_gb"] = peak_resident_gb()
    result["gb_s"] = bandwidth_gb_s(512)  # right after the run: the machine as the run found it
    if kind == "engine" and (precision == "bf16" or reference.exists()):
        result.update(faithfulness(engine, reference, precision == "bf16"))
    return result


def faithfulness(engine: object, reference: Path, write: bool) -> dict[str, float]:
    """Teacher-forced next-token log-probabilities over a real piece; the bfloat16 run
    saves them, the others compare: top-1 agreement and mean KL (nats) from bfloat16."""
    from midicli.tokenizers.vocab import AUTOREGRESS, MUSIC_VOCAB_SIZE

    piece = json.loads(PIECE.read_text())[:256]
    ids = engine.tokenizer("A chorale ").input_ids + [engine.text_vocab_size + AUTOREGRESS]
    ids += [engine.text_vocab_size + t for t in piece]
    with torch.inference_mode():
        hidden = engine.model.get_decoder()(input_ids=torch.tensor([ids])).last_hidden_state[0]
        logp = engine._head(hidden)[:, :MUSIC_VOCAB_SIZE].log_softmax(-1)
    if write:
        torch.save(logp, reference)
        return {}
    ref = torch.load(reference)
    kl = torch.nn.functional.kl_div(logp, ref, log_target=True, reduction="batchmean")
    return {
        "top1": float((ref.argmax(-1) == logp.argmax(-1)).float().mean()),
        "kl": float(kl),
        "positions": len(ids),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: a tiny scaffold in a temp folder)")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per run (n=1)")
    parser.add_argument("--runners", nargs="+", default=RUNNERS, choices=RUNNERS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--one", help=argparse.SUPPRESS
    )  # a child process: run this runner, print JSON
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(
            json.dumps(run_one(args.one, args.model, args.tokens, args.seed, Path(args.reference)))
        )
        return

    with tempfile.TemporaryDirectory() as scratch:
        if args.model is None:
            from midicli.engines.scaffold import scaffold_model

            args.model = str(scaffold_model(Path(scratch) / "tiny", "tiny"))
        gb_s = bandwidth_gb_s()
        print(
            f"model {args.model}; {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
            f"{args.tokens} new tokens, n=1; memory bandwidth {gb_s:.1f} GB/s before the runs, "
            "and measured again after each (tensor copies, read + written bytes)\n"
        )
        rows = []
        for runner in args.runners:  # one process each, so resident memory is the runner's own
            command = [
                sys.executable,
                __file__,
                "--one",
                runner,
                "--model",
                args.model,
                "--tokens",
                str(args.tokens),
                "--seed",
                str(args.seed),
                "--reference",
                str(Path(scratch) / "reference.pt"),
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode:
                print(f"{runner} failed:\n{done.stderr[-2000:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            roof = r["gb_s"] * 1e9 / r["step_bytes"]
            top1 = f"{r['top1']:.1%}" if "top1" in r else "—"
            kl = f"{r['kl']:.4f}" if "kl" in r else "—"
            rows.append(
                [
                    LABELS[runner],
                    f"{r['tokens_per_s']:.2f}",
                    f"{r['rss_gb']:.2f}",
                    f"{r['step_bytes'] / 1e9:.3f}",
                    f"{r['gb_s']:.1f}",
                    f"{roof:.1f}",
                    f"{r['tokens_per_s'] / roof:.0%}",
                    top1,
                    kl,
                    f"{r['load_s']:.0f}",
                ]
            )
            print(f"  {rows[-1]}", flush=True)
    header = [
        "runner",
        "tokens/s",
        "peak RSS GB",
        "GB read/step",
        "GB/s",
        "roofline tok/s",
        "of roofline",
        "top-1 vs bf16",
        "KL vs bf16",
        "load s",
    ]
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
