"""Recorded preferences → DPO training pairs in the model's own ids, and an honest
held-out split.

Pairs that share a version (a ``pick`` prefers one candidate over each of its
siblings) are kept on the same side of the split: otherwise the held-out score
would partly measure memorised sequences rather than the user's taste.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from midicli.errors import TuningError
from midicli.project.records import PreferenceRecord

MIN_PAIRS = 2


@dataclass(frozen=True)
class Pair:
    """One preference in full-vocabulary ids, ready for the trainer's collator."""

    preference_id: int
    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]
    versions: tuple[str, str]  # chosen and rejected refs: what ties pairs together in the split

    def row(self) -> dict[str, list[int]]:
        return {
            "prompt_ids": self.prompt_ids,
            "chosen_ids": self.chosen_ids,
            "rejected_ids": self.rejected_ids,
        }


@dataclass
class Selection:
    """The pairs a run can train on, and why the others were left out."""

    pairs: list[Pair]
    left_out: Counter[str] = field(default_factory=Counter)

    def describe(self) -> str:
        """E.g. "3 made by another model, 1 too long for --max-length"."""
        return ", ".join(f"{count} {reason}" for reason, count in self.left_out.items())


def select(
    preferences: list[PreferenceRecord], model_hash: str, text_vocab_size: int, max_length: int
) -> Selection:
    """Preferences recorded on the model being tuned, whose prompt leaves room for
    music within ``max_length`` and whose two sides differ."""
    selection = Selection([])
    for p in preferences:
        if p.model_hash != model_hash:
            selection.left_out["made by another model"] += 1
        elif len(p.prompt_ids) >= max_length:
            selection.left_out["with a prompt longer than --max-length"] += 1
        elif p.chosen_ids == p.rejected_ids:
            selection.left_out["with identical sides"] += 1
        else:
            music = [
                [text_vocab_size + token for token in ids] for ids in (p.chosen_ids, p.rejected_ids)
            ]
            selection.pairs.append(Pair(p.id, list(p.prompt_ids), *music, (p.chosen, p.rejected)))
    return selection


def split(pairs: list[Pair], holdout: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """(train, held out): about ``holdout`` of the groups of pairs linked by a shared
    version are held out, never all of them; the same pairs and seed give the same split."""
    if not 0 <= holdout < 1:
        raise TuningError(f"--holdout must be at least 0 and below 1, got {holdout}")
    groups = _linked_groups(pairs)
    names = sorted(set(groups.values()))
    random.Random(seed).shuffle(names)
    held = set(names[: min(len(names) - 1, round(holdout * len(names)))])
    train = [p for p in pairs if groups[p.versions[0]] not in held]
    return train, [p for p in pairs if groups[p.versions[0]] in held]


def _linked_groups(pairs: list[Pair]) -> dict[str, str]:
    """Each version's group (named by its smallest member): versions are linked when
    some pair compares them (union-find)."""
    parent: dict[str, str] = {}

    def root(v: str) -> str:
        while parent.setdefault(v, v) != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for pair in pairs:
        a, b = root(pair.versions[0]), root(pair.versions[1])
        parent[max(a, b)] = min(a, b)
    return {v: root(v) for v in list(parent)}
