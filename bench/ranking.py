"""What ranking costs and buys: compose with --best-of K, side by side in one run.

For each K, every caption of a prompt set is composed once (n=1, the model's own
sampling and key lean, a fixed seed per caption) and the shown piece is measured:
wall time per shown piece, its ranking score, and whether it is in the caption's key
and plays the caption's instruments (the figures `midicli eval` reports).

    python bench/ranking.py [PROMPTS] [--model mini] [--best-of 1,4,8] [--limit 12] [--seconds 30]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from midicli.engines.base import SamplingParams
from midicli.engines.pool import open_engine
from midicli.evaluation.metrics import adherence
from midicli.evaluation.prompts import load_prompts
from midicli.generation.operations import Drawing, draw, ending_by, recommended
from midicli.generation.span import Span
from midicli.music.analysis import features
from midicli.music.captions import parse_caption
from midicli.music.piece import Piece

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompts", nargs="?", default=str(REPO / "prompts" / "eval-captions.txt"))
    parser.add_argument("--model", default="mini")
    parser.add_argument("--best-of", default="1,4,8")
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    engine = open_engine("transformers", args.model, device="cpu")
    captions = [p.caption for p in load_prompts(Path(args.prompts), args.limit)]
    table = Table(
        title=(
            f"{args.model}: best of K, {len(captions)} captions, {args.seconds:g} s pieces (2 CPU "
            "cores)"
        )
    )
    for column in ("best of", "s per piece", "mean score", "in key", "instrument recall"):
        table.add_column(column, justify="right")
    for k in (int(v) for v in args.best_of.split(",")):
        spent, scores, keys, matched, asked = 0.0, [], [], 0, 0
        for i, caption in enumerate(captions):
            sampling, limits = recommended(engine, SamplingParams(n=1, seed=i))
            began = time.perf_counter()
            ((piece, _, ranking),) = draw(
                None,
                engine,
                caption,
                Span((), 0.0, args.seconds),
                sampling,
                limits,
                Drawing(best_of=k),
                lambda c: Piece(ending_by(c.notes, args.seconds)),
            )
            spent += time.perf_counter() - began
            met = adherence(parse_caption(caption), features(piece))
            scores.append(ranking.score)
            if met.key is not None:
                keys.append(met.key)
            matched, asked = matched + met.instruments_matched, asked + met.instruments_asked
        table.add_row(
            str(k),
            f"{spent / len(captions):.1f}",
            f"{sum(scores) / len(scores):.2f}",
            f"{sum(keys)}/{len(keys)}",
            f"{matched}/{asked}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
