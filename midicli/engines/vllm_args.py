"""What the vLLM engines (in-process and remote) send along with a prompt, and how
they read vLLM's answer back, so both behave exactly like the transformers engine.

The grammar travels to the logits processor as one JSON string in the request's
``extra_args`` (``vllm_xargs`` over HTTP, which only carries strings and numbers).
Nothing here imports vLLM: a client of a remote server does not need it installed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from midicli.engines.base import Completion, Request, check_request
from midicli.errors import GenerationError, ModelError
from midicli.tokenizers.amt_generation import GrammarSpec
from midicli.tokenizers.vocab import MUSIC_VOCAB_SIZE

GRAMMAR_ARG = "midicli_grammar"
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # the values vLLM's max_lora_rank accepts
DEFAULT_LORA_RANK = 16  # vLLM's default max_lora_rank, and `tune`'s default rank


def spec_to_dict(spec: GrammarSpec) -> dict[str, Any]:
    """A JSON-able form of ``spec``: every field, tuples as lists, the instrument set sorted."""
    data = {f.name: getattr(spec, f.name) for f in fields(GrammarSpec)}
    return {
        name: sorted(value)
        if isinstance(value, frozenset)
        else list(value)
        if isinstance(value, tuple)
        else value
        for name, value in data.items()
    }


def spec_from_dict(data: dict[str, Any]) -> GrammarSpec:
    """The inverse of :func:`spec_to_dict`; ValueError on anything malformed or missing."""
    try:
        values = {f.name: data[f.name] for f in fields(GrammarSpec)}
        for name in ("history", "controls"):
            values[name] = tuple(int(t) for t in values[name])
        if values["instruments"] is not None:
            values["instruments"] = frozenset(int(i) for i in values["instruments"])
        if values["max_onsets_per_instrument"] is not None:
            values["max_onsets_per_instrument"] = tuple(
                int(c) for c in values["max_onsets_per_instrument"]
            )
        for name in ("pitch_bias", "instrument_bias"):
            if values[name] is not None:
                values[name] = tuple(float(b) for b in values[name])
        for name in (
            "min_time",
            "max_instruments",
            "max_onsets_per_instant",
            "fill_slack",
            "delta",
        ):
            values[name] = int(values[name])
        for name in ("stop_time", "max_gap"):
            values[name] = None if values[name] is None else int(values[name])
        return GrammarSpec(**values)
    except (KeyError, TypeError) as e:
        raise ValueError(f"malformed grammar spec: {e!r}") from e


def grammar_args(spec: GrammarSpec, text_vocab_size: int, eos_id: int) -> dict[str, str]:
    """The request's ``extra_args``: the spec, where music ids start, and the id a
    finished sequence must end with (the processor knows nothing of the model)."""
    payload = {"spec": spec_to_dict(spec), "offset": text_vocab_size, "eos": eos_id}
    return {GRAMMAR_ARG: json.dumps(payload, separators=(",", ":"))}


def read_grammar_args(extra_args: dict[str, Any] | None) -> tuple[GrammarSpec, int, int] | None:
    """(spec, text_vocab_size, eos id) from a request's ``extra_args``, None when it
    carries no grammar; ValueError when it carries a broken one."""
    raw = (extra_args or {}).get(GRAMMAR_ARG)
    if raw is None:
        return None
    try:
        payload = json.loads(raw)
        return spec_from_dict(payload["spec"]), int(payload["offset"]), int(payload["eos"])
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"malformed {GRAMMAR_ARG}: {e!r}") from e


def music_ids(text_vocab_size: int) -> list[int]:
    """Every music id: what may be sampled when there is no grammar."""
    return list(range(text_vocab_size, text_vocab_size + MUSIC_VOCAB_SIZE))


def checked_seed(request: Request, vocab_size: int, context: int | None) -> int:
    """Refuse what every engine refuses (``check_request``); return the seed to use (a
    fresh one when none is given: vLLM gives candidate i seed + i)."""
    check_request(request, vocab_size, context)
    sampling = request.sampling
    return sampling.seed if sampling.seed is not None else secrets.randbits(62)


def finish(
    token_ids: Sequence[int], spec: GrammarSpec | None, text_vocab_size: int, eos_id: int | None
) -> Completion:
    """vLLM's ids as a Completion: the end-of-sequence id stripped, and "stop" exactly
    when the grammar finished (its last TIME kept), as the transformers engine says."""
    ids = list(token_ids)
    if ids and ids[-1] == eos_id:
        ids.pop()
    if spec is None:
        return Completion(ids, "length")
    grammar = spec.start()
    for index, token in enumerate(ids):
        music = token - text_vocab_size
        if grammar.finished or not grammar.permits(music):
            raise GenerationError(
                f"vLLM returned id {token} at position {index}, which the grammar forbids"
            )
        grammar.advance(music)
    return Completion(ids, "stop" if grammar.finished else "length")


def lora_rank(adapter: Path) -> int:
    """The highest LoRA rank in a PEFT adapter folder (``r``, or a larger per-module
    rank), which vLLM must be started with room for. ModelError for anything else,
    such as the full weights ``tune --full`` writes: vLLM applies LoRA adapters only."""
    if not adapter.is_dir():
        raise ModelError(f"no adapter folder at {adapter}")
    config = adapter / "adapter_config.json"
    if not config.is_file():
        raise ModelError(
            f"adapter {adapter.name} holds fully tuned weights (tune --full), and the vLLM engines "
            "apply "
            "LoRA adapters only: use --engine transformers"
        )
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        return max([int(data["r"]), *(int(r) for r in (data.get("rank_pattern") or {}).values())])
    except (ValueError, KeyError, TypeError) as e:
        raise ModelError(
            f"adapter {adapter.name} has an unreadable adapter_config.json: {e!r}"
        ) from e


def lora_room(rank: int) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts that holds an adapter of ``rank``."""
    for room in LORA_RANKS:
        if room >= rank:
            return room
    raise ModelError(
        f"vLLM takes LoRA adapters of rank up to {LORA_RANKS[-1]}, and this one has rank {rank}"
    )
