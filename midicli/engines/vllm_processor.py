"""The AMT grammar inside vLLM, as a logits processor.

Load it in-process with ``LLM(logits_processors=[GrammarLogitsProcessor])`` or in a
server with ``vllm serve MODEL --logits-processors
midicli.engines.vllm_processor:GrammarLogitsProcessor``. A request opts in by
carrying :func:`midicli.engines.vllm_args.grammar_args` in its ``extra_args``
(``vllm_xargs`` over HTTP); other requests pass untouched.

For each such request it keeps a :class:`Grammar`, feeds it every sampled token and
masks the logits to what the grammar allows: a control token is forced by leaving
it the only allowed id, and a finished grammar leaves only end-of-sequence, so
vLLM stops the sequence right after the TIME token that finished it.

vLLM 0.32 has two model runners with different processor interfaces: V1 (the CPU
build, or ``VLLM_USE_V2_MODEL_RUNNER=0``) and V2 (the default on GPUs). This one
class implements both, so users name a single class whichever runner is active.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from vllm.v1.sample.logits_processor import BatchUpdate, MoveDirectionality
from vllm.v1.sample.logits_processor import LogitsProcessor as RunnerV1Processor
from vllm.v1.worker.gpu.sample.logits_processor.interface import (
    LogitsContext,
    LogitsProcRequestState,
)
from vllm.v1.worker.gpu.sample.logits_processor.interface import (
    LogitsProcessor as RunnerV2Processor,
)

from midicli.engines.constraints import apply_to_logits
from midicli.engines.vllm_args import read_grammar_args
from midicli.tokenizers.base import TokenGrammar

if TYPE_CHECKING:
    from vllm import SamplingParams
    from vllm.config import VllmConfig

logger = logging.getLogger(__name__)


class _Sequence:
    """One request's grammar and how many of its output tokens it has taken."""

    def __init__(
        self, grammar: TokenGrammar, offset: int, eos: int, output: list[int] | None
    ) -> None:
        self.grammar = grammar
        self.offset = offset
        self.eos = eos
        self.output = output  # the runner's live list of output ids (V1 runner only)
        self.taken = 0

    def take(self, new: Sequence[int]) -> None:
        """Advance over output ids not seen yet; ``new`` starts at index ``taken``."""
        for token in new:
            if token < 0 or self.grammar.finished:  # -1: not yet known (async scheduling)
                return
            music = token - self.offset
            if not self.grammar.permits(music):
                # Never expected; ending the sequence beats crashing the engine, and
                # the client's own check of the ids reports it.
                logger.error("token %d breaks the midicli grammar; ending the sequence", token)
                self.grammar.finished = True
                return
            self.grammar.advance(music)
            self.taken += 1

    def mask(self, row: torch.Tensor) -> None:
        apply_to_logits(row, [self.grammar], self.offset, self.eos)


def _sequence(params: SamplingParams, output: list[int] | None) -> _Sequence | None:
    args = read_grammar_args(params.extra_args)
    if args is None:
        return None
    spec, offset, eos = args
    return _Sequence(spec.start(), offset, eos, output)


class GrammarLogitsProcessor(RunnerV2Processor, RunnerV1Processor):
    """Masks each opted-in request's logits to what its AMT grammar allows next."""

    def __init__(self, vllm_config: VllmConfig, *runner_state: Any) -> None:
        # V1 runner: (device, is_pin_memory); V2 runner: (request state,).
        if vllm_config.speculative_config is not None:
            raise ValueError("the midicli grammar processor does not support speculative decoding")
        first = runner_state[0] if runner_state else None
        self._requests: LogitsProcRequestState | None = (
            first if isinstance(first, LogitsProcRequestState) else None
        )
        self._rows: dict[int, _Sequence] = {}  # V1: batch index; V2: request slot

    @classmethod
    def validate_params(cls, sampling_params: SamplingParams) -> None:
        """Refuse a malformed or unsatisfiable grammar when the request arrives."""
        args = read_grammar_args(sampling_params.extra_args)
        if args is not None:
            args[0].start()

    def is_argmax_invariant(self) -> bool:
        return False

    # V1 runner: rows are persistent-batch indices, told through batch updates.
    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if batch_update is None:
            return
        for index in batch_update.removed:
            self._rows.pop(index, None)
        for index, params, _, output in batch_update.added:
            self._put(index, _sequence(params, output))
        for a, b, direction in batch_update.moved:
            first, second = self._rows.pop(a, None), self._rows.pop(b, None)
            self._put(b, first)
            if direction == MoveDirectionality.SWAP:
                self._put(a, second)

    # V2 runner: requests live in slots, rows map to slots anew at every step.
    def add_request(self, req_idx: int, sampling_params: SamplingParams) -> bool:
        sequence = _sequence(sampling_params, None)
        self._put(req_idx, sequence)
        return sequence is not None

    def apply(self, logits: torch.Tensor, ctx: LogitsContext | None = None) -> torch.Tensor:
        if not self._rows:
            return logits
        if ctx is None:
            for index, sequence in self._rows.items():
                assert sequence.output is not None
                sequence.take(sequence.output[sequence.taken :])
                sequence.mask(logits[index])
            return logits
        self._apply_to_slots(logits, ctx)
        return logits

    def _apply_to_slots(self, logits: torch.Tensor, ctx: LogitsContext) -> None:
        """Each row's committed output ids are ``all_token_ids[slot, prompt_len:total_len]``."""
        assert self._requests is not None
        rows = [
            (row, slot)
            for row, slot in enumerate(ctx.expanded_idx_mapping.tolist())
            if slot in self._rows
        ]
        if not rows:
            return
        slots = torch.tensor([slot for _, slot in rows], device=self._requests.device)
        totals = self._requests.total_len.gpu[slots].tolist()
        for (row, slot), total in zip(rows, totals):
            sequence = self._rows[slot]
            start = int(self._requests.prompt_len.np[slot]) + sequence.taken
            if total > start:
                sequence.take(self._requests.all_token_ids.gpu[slot, start:total].tolist())
            sequence.mask(logits[row])

    def _put(self, key: int, sequence: _Sequence | None) -> None:
        if sequence is None:
            self._rows.pop(key, None)
        else:
            self._rows[key] = sequence
