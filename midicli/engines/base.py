"""The engine contract: token prompts in, token continuations out, under a grammar.

Engines know nothing about music: the tokenizer's grammar (applied by
``midicli.engines.constraints``) says which music tokens may come next, and
``midicli.generation`` gives them meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from midicli import defaults
from midicli.errors import GenerationError
from midicli.tokenizers.base import GrammarSpec


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. ``temperature``/``top_p`` None (before a request reaches an engine):
    what the model recommends (``generation.operations.recommended``)."""

    n: int = defaults.CANDIDATES
    temperature: float | None = defaults.TEMPERATURE
    top_p: float | None = defaults.TOP_P
    max_new_tokens: int = defaults.MAX_NEW_TOKENS
    seed: int | None = None

    def fault(self, *, resolved: bool = True, min_new_tokens: int = 1) -> tuple[str, str] | None:
        """The first setting out of range as (field, what it must be), or None. Unless
        ``resolved``, a None temperature or top-p (the model's own) passes. The one
        statement of these limits: engines and the user-facing check word them each."""
        if self.n < 1:
            return "n", "at least 1"
        if not (self.temperature is None and not resolved) and not (self.temperature or 0) > 0:
            return "temperature", "above 0"
        if not (self.top_p is None and not resolved) and not 0 < (self.top_p or 0) <= 1:
            return "top_p", "in (0, 1]"
        if self.max_new_tokens < min_new_tokens:
            return "max_new_tokens", f"at least {min_new_tokens}"
        return None


# How an engine names each sampling setting in its errors.
_ENGINE_WORDS = {
    "n": "the number of candidates",
    "temperature": "temperature",
    "top_p": "top-p",
    "max_new_tokens": "max new tokens",
}


@dataclass(frozen=True)
class Request:
    """One prompt (full-vocabulary ids) to continue ``sampling.n`` times."""

    prompt_ids: list[int]
    sampling: SamplingParams = field(default_factory=SamplingParams)
    grammar: GrammarSpec | None = None


@dataclass
class Completion:
    """Generated ids (full vocabulary, end-of-sequence stripped) and why it stopped:
    ``"length"`` (max tokens reached) or ``"stop"`` (the grammar finished it)."""

    token_ids: list[int]
    finish_reason: str


def check_request(request: Request, vocab_size: int, context: int | None) -> None:
    """Refuse what no engine can run, in the same words for every engine: sampling out of
    range, an empty prompt or one outside the vocabulary, a prompt and new tokens past the
    model's context, a grammar nothing can satisfy."""
    sampling, prompt = request.sampling, request.prompt_ids
    fault = sampling.fault()
    if fault is not None:
        name, limit = fault
        raise GenerationError(
            f"{_ENGINE_WORDS[name]} must be {limit}, not {getattr(sampling, name)}"
        )
    if not prompt:
        raise GenerationError("the prompt is empty")
    bad = [t for t in prompt if not 0 <= t < vocab_size]
    if bad:
        raise GenerationError(
            f"prompt id {bad[0]} is outside the model's vocabulary (0..{vocab_size - 1})"
        )
    if context and len(prompt) + sampling.max_new_tokens > context:
        raise GenerationError(
            f"prompt ({len(prompt)} tokens) + {sampling.max_new_tokens} new tokens exceed the "
            f"model's context of {context}"
        )
    if request.grammar is not None:
        try:
            request.grammar.start()
        except ValueError as e:
            raise GenerationError(str(e)) from e


# Called after every generated token with (sequence index, token id).
ProgressCallback = Callable[[int, int], None]


class Engine(Protocol):
    """What generation needs from any engine: the text tokenizer for prompts, the
    vocabulary layout, and the model's identity for the version manifest."""

    name: str
    text_vocab_size: int
    tokenizer: Any
    model_id: str
    model_hash: str

    def generate(
        self, request: Request, progress: ProgressCallback | None = None
    ) -> list[Completion]:
        """Return ``request.sampling.n`` completions of the prompt."""
        ...

    def close(self) -> None: ...
