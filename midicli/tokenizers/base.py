"""The tokenizer contract every scheme (built-in or plugin) fulfils.

As in MidiTok, the public ``encode``/``decode`` are fixed and a scheme fills in small
protected hooks, so checks common to all schemes live in one place.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from midicli.errors import BadTokensError
from midicli.music.piece import Piece


class TokenGrammar(ABC):
    """What constrained generation needs from a scheme's grammar, one per sequence:
    which ids may come next, and the id that came. Every engine drives it alike
    (``engines.constraints``); AMT's is ``tokenizers.amt_generation.Grammar``."""

    finished: bool = False

    @abstractmethod
    def allowed(self) -> tuple[tuple[int, int], ...]:
        """Ascending half-open ranges of the ids allowed next; empty once finished."""

    @abstractmethod
    def advance(self, token: int) -> None:
        """Take the id just emitted; ValueError if the grammar forbids it."""

    def permits(self, token: int) -> bool:
        """Whether ``token`` may come next."""
        return any(start <= token < end for start, end in self.allowed())

    def forced(self) -> int | None:
        """The only allowed id (an injected control, typically), else None."""
        ranges = self.allowed()
        if len(ranges) == 1 and ranges[0][1] - ranges[0][0] == 1:
            return ranges[0][0]
        return None

    def lean(self) -> tuple[int, Any] | None:
        """A soft preference to add to the logits of the next id: (first id, a tensor of
        values for the ids from there on), or None (the default: no lean)."""
        return None


class GrammarSpec(Protocol):
    """What a generation in some scheme may produce: it travels with a request, and
    every engine starts one grammar from it per sequence."""

    def start(self) -> TokenGrammar:
        """The grammar of one new sequence."""
        ...


class Tokenizer(ABC):
    """Turns a Piece into music token ids and back (ids without any text-vocabulary offset)."""

    name: ClassVar[str]
    description: ClassVar[str]
    vocab_size: ClassVar[int]

    def encode(self, piece: Piece) -> list[int]:
        """The piece's token ids; a piece without notes encodes as no tokens."""
        if not piece.notes:
            return []
        return list(self._encode(piece))

    def decode(self, tokens: Sequence[int]) -> Piece:
        """The piece the tokens describe; raises BadTokensError naming the first bad token."""
        tokens = list(tokens)
        if not tokens:
            raise BadTokensError("no tokens")
        self._validate(tokens)
        return self._decode(tokens)

    @abstractmethod
    def _encode(self, piece: Piece) -> list[int]:
        """Token ids for a piece with at least one note."""

    @abstractmethod
    def _decode(self, tokens: list[int]) -> Piece:
        """The piece for tokens that passed ``_validate``."""

    def _validate(self, tokens: list[int]) -> None:  # noqa: B027 - a scheme may check nothing
        """Raise BadTokensError if the (non-empty) tokens break the scheme's grammar."""

    def grammar(self, spec: Any) -> TokenGrammar | None:
        """The grammar a generation in this scheme follows, for a spec of what it may
        produce (AMT's ``amt_generation.GrammarSpec``); None when the scheme has none."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
