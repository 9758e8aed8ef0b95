"""The engine contract: token prompts in, token continuations out, under a grammar.

Engines know nothing about music; the grammar (``midicli.engines.constraints``) says
which music tokens may come next, and ``midicli.generation`` gives them meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from midicli import defaults

if TYPE_CHECKING:
    from midicli.engines.constraints import GrammarSpec


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. ``temperature``/``top_p`` None (before a request reaches an engine):
    what the model recommends (``generation.operations.recommended``)."""

    n: int = defaults.CANDIDATES
    temperature: float | None = defaults.TEMPERATURE
    top_p: float | None = defaults.TOP_P
    max_new_tokens: int = defaults.MAX_NEW_TOKENS
    seed: int | None = None


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

    def generate(self, request: Request, progress: ProgressCallback | None = None) -> list[Completion]:
        """Return ``request.sampling.n`` completions of the prompt."""
        ...

    def close(self) -> None: ...
