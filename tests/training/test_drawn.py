"""Training draws: every sequence whole, and as many more times as asked cut to its
opening, where the caption alone decides how the music begins."""

from __future__ import annotations

from pathlib import Path

import torch

from midicli.engines.scaffold import build_text_tokenizer
from midicli.music.captions import parse_caption
from midicli.tokenizers import amt
from midicli.training.dataset import read_split
from midicli.training.train import IGNORE, _encoder
from midicli.training.trainer import OPENING_NOTES, Drawn


def draws(dataset: Path, cache: Path, semitones: int, openings: int) -> tuple[Drawn, list[dict], object]:
    rows = list(read_split(dataset, "train"))
    tokenizer = build_text_tokenizer([row["caption"] for row in rows])
    encode = _encoder(tokenizer, 1024, 4096)
    return Drawn(dataset / "train.jsonl", encode, semitones, openings, cache), rows, encode


def test_each_sequence_is_drawn_whole_then_cut_to_its_opening(small_dataset: Path, tmp_path: Path) -> None:
    drawn, rows, encode = draws(small_dataset, tmp_path, semitones=0, openings=2)
    assert len(drawn) == 3 * len(rows)
    assert sum(1 for _ in drawn) == len(drawn)  # iteration ends: the Trainer measures lengths that way
    for i, row in enumerate(rows):
        whole = encode(row)
        assert drawn[i]["input_ids"] == whole["input_ids"]
        given = whole["labels"].count(IGNORE)  # the caption prompt and the mode token
        for copy in (1, 2):
            opening = drawn[copy * len(rows) + i]
            assert opening["input_ids"] == whole["input_ids"][: given + 3 * OPENING_NOTES]
            learned = [t - 1024 for t in opening["labels"] if t != IGNORE]  # whole (time, duration, note)s
            assert len(amt.events_to_notes(learned, controls=True)) == min(OPENING_NOTES, len(row["music"]) // 3)


def test_openings_are_drawn_in_random_keys_too(small_dataset: Path, tmp_path: Path) -> None:
    drawn, rows, _ = draws(small_dataset, tmp_path, semitones=5, openings=1)
    keyed = next(i for i, row in enumerate(rows) if parse_caption(row["caption"]).key)
    torch.manual_seed(0)
    firsts = {drawn[len(rows) + keyed]["input_ids"][-1] for _ in range(12)}  # the last note of the opening
    assert len(firsts) > 1
