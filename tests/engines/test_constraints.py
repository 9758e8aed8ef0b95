"""Constrained sampling knows no scheme: a plugin tokenizer's own grammar (here a toy one,
as a REMI plugin would bring) drives the logits mask, its lean and the sequence check
exactly as AMT's does (tests/tokenizers/test_amt_generation.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from midicli.engines.constraints import apply_to_logits, check_sequence
from midicli.tokenizers.base import TokenGrammar

TEXT, MUSIC, EOS = 10, 20, 3


class Steps(TokenGrammar):
    """Ids climb by one from ``first`` and the sequence ends after ``length`` of them;
    it leans toward even ids."""

    def __init__(self, first: int, length: int) -> None:
        self.next, self.left = first, length
        self.finished = length == 0

    def allowed(self) -> tuple[tuple[int, int], ...]:
        if self.finished:
            return ()
        return tuple(
            (a, b) for a, b in ((self.next, self.next + 1), (self.next + 2, MUSIC)) if a < b
        )

    def advance(self, token: int) -> None:
        if not self.permits(token):
            raise ValueError(f"{token} is not allowed")
        self.next, self.left = token + 1, self.left - 1
        self.finished = self.left == 0

    def lean(self) -> tuple[int, torch.Tensor]:
        return 0, torch.tensor([2.0 if k % 2 == 0 else 0.0 for k in range(MUSIC)])


@dataclass(frozen=True)
class StepsSpec:
    first: int
    length: int

    def start(self) -> Steps:
        return Steps(self.first, self.length)


def test_a_plugin_grammar_masks_and_leans_the_logits_rows():
    open_row, done_row = StepsSpec(4, 2).start(), StepsSpec(0, 0).start()
    logits = torch.zeros(2, TEXT + MUSIC)
    apply_to_logits(logits, [open_row, done_row], TEXT, EOS)
    kept = {i: v for i, v in enumerate(logits[0].tolist()) if v != float("-inf")}
    assert sorted(kept) == [TEXT + 4, *range(TEXT + 6, TEXT + MUSIC)]  # text ids and id 5 masked
    assert kept[TEXT + 4] == 2.0 and kept[TEXT + 7] == 0.0  # the lean on even ids
    assert [i for i, v in enumerate(logits[1].tolist()) if v != float("-inf")] == [EOS]
    with pytest.raises(ValueError, match="rows"):
        apply_to_logits(logits, [open_row], TEXT, EOS)


def test_a_plugin_grammar_forces_and_checks_sequences():
    grammar = StepsSpec(MUSIC - 1, 1).start()
    assert grammar.forced() == MUSIC - 1 and not grammar.permits(0)
    assert check_sequence(StepsSpec(4, 2), [4, 9]) is None
    assert check_sequence(StepsSpec(4, 2), [5]) == 0
    assert check_sequence(StepsSpec(4, 2), [4, 9, 12]) == 2  # after the end
