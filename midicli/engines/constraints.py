"""Constrained sampling, the same for every engine and every token scheme.

An engine starts one grammar per sequence from the request's spec (the tokenizer's:
``tokenizers.amt_generation`` for AMT), masks each step's logits to what it allows
and tells it which id came. Grammars work in music-token space; this adds the text
offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from midicli.tokenizers.base import GrammarSpec, TokenGrammar

if TYPE_CHECKING:
    import torch


def apply_to_logits(
    logits: torch.Tensor, grammars: Sequence[TokenGrammar], text_vocab_size: int, eos_id: int | None
) -> torch.Tensor:
    """Set every id a row's grammar forbids to -inf, in place, and return ``logits``.

    ``logits`` is one row or a batch (one grammar per row) over the full vocabulary,
    where music id k is ``text_vocab_size + k``; text ids are always masked. A finished
    row keeps only ``eos_id``, or is left untouched when ``eos_id`` is None (the caller
    stops it). Only the gaps between allowed ranges are filled, a few slices per row.
    """
    rows = logits.unsqueeze(0) if logits.dim() == 1 else logits
    if rows.shape[0] != len(grammars):
        raise ValueError(f"{rows.shape[0]} logits rows but {len(grammars)} grammars")
    width = rows.shape[-1]
    for row, grammar in zip(rows, grammars):
        if grammar.finished:
            if eos_id is None:
                continue
            keep: Iterable[tuple[int, int]] = ((eos_id, eos_id + 1),)
        else:
            keep = ((text_vocab_size + a, text_vocab_size + b) for a, b in grammar.allowed())
            lean = grammar.lean()
            if lean is not None:
                first, values = lean
                first += text_vocab_size
                row[first : first + values.numel()] += values.to(row.device, row.dtype)
        start = 0
        for a, b in keep:
            if a > start:
                row[start:a] = float("-inf")
            start = b
        if start < width:
            row[start:] = float("-inf")
    return logits


def check_sequence(spec: GrammarSpec, tokens: Iterable[int]) -> int | None:
    """Index of the first music token the grammar forbids (a token after the grammar
    finished included), or None when all are allowed."""
    grammar = spec.start()
    for index, token in enumerate(tokens):
        if grammar.finished or not grammar.permits(token):
            return index
        grammar.advance(token)
    return None
