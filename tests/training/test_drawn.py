"""Training draws: every sequence whole (unless only openings are asked for), and as
many more times as asked cut to its opening, where the caption alone decides how the
music begins."""

from __future__ import annotations

from pathlib import Path

import torch

from midicli.engines.scaffold import build_text_tokenizer
from midicli.music.captions import parse_caption
from midicli.tokenizers import amt
from midicli.training.dataset import read_split
from midicli.training.settings import IGNORE, TrainSettings
from midicli.training.sft_trainer import Drawn
from midicli.training.train import _encoder


def draws(dataset: Path, cache: Path, **settings: object) -> tuple[Drawn, list[dict], object]:
    rows = list(read_split(dataset, "train"))
    tokenizer = build_text_tokenizer([row["caption"] for row in rows])
    encode = _encoder(tokenizer, 1024, 4096)
    return Drawn(dataset / "train.jsonl", encode, TrainSettings(**settings), cache), rows, encode


def test_each_sequence_is_drawn_whole_then_cut_to_its_opening(
    small_dataset: Path, tmp_path: Path
) -> None:
    drawn, rows, encode = draws(small_dataset, tmp_path, openings=2, opening_notes=16)
    assert len(drawn) == 3 * len(rows)
    assert sum(1 for _ in drawn) == len(
        drawn
    )  # iteration ends: the Trainer measures lengths that way
    for i, row in enumerate(rows):
        whole = encode(row)
        assert drawn[i]["input_ids"] == whole["input_ids"]
        given = whole["labels"].count(IGNORE)  # the caption prompt and the mode token
        for copy in (1, 2):
            opening = drawn[copy * len(rows) + i]
            assert opening["input_ids"] == whole["input_ids"][: given + 3 * 16]
            learned = [
                t - 1024 for t in opening["labels"] if t != IGNORE
            ]  # whole (time, duration, note)s
            assert len(amt.events_to_notes(learned, controls=True)) == min(
                16, len(row["music"]) // 3
            )


def test_openings_are_drawn_in_random_keys_too(small_dataset: Path, tmp_path: Path) -> None:
    drawn, rows, _ = draws(small_dataset, tmp_path, transpose=5, openings=1)
    keyed = next(i for i, row in enumerate(rows) if parse_caption(row["caption"]).key)
    torch.manual_seed(0)
    firsts = {
        drawn[len(rows) + keyed]["input_ids"][-1] for _ in range(12)
    }  # the last note of the opening
    assert len(firsts) > 1


def test_an_openings_only_pass_draws_each_sequence_cut_to_its_first_notes(
    small_dataset: Path, tmp_path: Path
) -> None:
    drawn, rows, encode = draws(small_dataset, tmp_path, openings=2, opening_notes=3, whole=False)
    assert len(drawn) == 2 * len(rows) and sum(1 for _ in drawn) == len(drawn)
    for index, draw in enumerate(drawn):
        whole = encode(rows[index % len(rows)])
        given = whole["labels"].count(IGNORE)
        assert draw["input_ids"] == whole["input_ids"][: given + 3 * 3]
