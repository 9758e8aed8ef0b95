"""Preference records → training pairs: only usable ones, in full-vocabulary ids, split
so that no held-out pair shares a version with a training pair."""

from __future__ import annotations

import pytest

from midicli.errors import TuningError
from midicli.project.records import PreferenceRecord
from midicli.training.preference_data import select, split


def preference(
    i: int, chosen: str, rejected: str, model_hash: str = "abc", prompt: int = 3
) -> PreferenceRecord:
    return PreferenceRecord(
        i,
        chosen,
        rejected,
        i,
        i + 100,
        "pick",
        list(range(prompt)),
        [i, 10_050, 11_060],
        [i, 10_050, 11_061],
        "tiny",
        model_hash,
        "2026-01-01",
    )


def test_select_keeps_pairs_of_this_model_that_fit_and_differ() -> None:
    same = PreferenceRecord(
        9, "a@1", "b@1", 9, 10, "prefer", [1], [5], [5], "tiny", "abc", "2026-01-01"
    )
    selection = select(
        [
            preference(1, "a@1", "b@1"),
            preference(2, "a@1", "c@1", model_hash="zzz"),
            preference(3, "d@1", "e@1", prompt=50),
            same,
        ],
        "abc",
        text_vocab_size=1000,
        max_length=50,
    )
    [pair] = selection.pairs
    assert (pair.preference_id, pair.prompt_ids) == (1, [0, 1, 2])
    assert (pair.chosen_ids, pair.rejected_ids) == ([1001, 11_050, 12_060], [1001, 11_050, 12_061])
    assert selection.describe() == (
        "1 made by another model, 1 with a prompt longer than --max-length, 1 with identical sides"
    )


def test_linked_pairs_stay_on_one_side_of_the_split() -> None:
    # three picks: x over its 3 siblings, y over 2, z over 1 → three groups
    prefs = [
        preference(i, chosen, f"{chosen}-{k}@1")
        for i, (chosen, k) in enumerate(
            [("x@1", 1), ("x@1", 2), ("x@1", 3), ("y@1", 1), ("y@1", 2), ("z@1", 1)]
        )
    ]
    pairs = select(prefs, "abc", 0, 100).pairs
    for seed in range(5):
        train, held = split(pairs, 0.34, seed)
        assert len({p.versions[0] for p in held}) == 1  # one of three groups held out
        assert {v for p in train for v in p.versions}.isdisjoint(
            {v for p in held for v in p.versions}
        )
        assert split(pairs, 0.34, seed) == (train, held)  # the same every time
    assert split(pairs, 0.0, 0) == (pairs, [])
    assert split(pairs[:1], 0.5, 0) == (pairs[:1], [])  # never everything
    with pytest.raises(TuningError, match="--holdout"):
        split(pairs, 1.0, 0)
