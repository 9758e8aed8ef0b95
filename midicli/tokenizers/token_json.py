"""Token files as ``tokenize`` prints them: a JSON list of ids, or for long pieces
``{"windows": [{"start": seconds, "tokens": [...]}, ...]}``. Anything else is a
BadTokensError naming what is wrong, whatever the file holds."""

from __future__ import annotations

import json
import math
from typing import Any

from midicli.errors import BadTokensError
from midicli.music.piece import LATEST_SECONDS, Piece
from midicli.tokenizers.base import Tokenizer

_WINDOW = '{"start": seconds, "tokens": [...]}'


def parse(text: str, where: str) -> Any:
    """The JSON in ``text`` (a list of ids or a windows object, not yet checked)."""
    if not text.strip():
        raise BadTokensError(f"{where} is empty: expected a JSON list of token ids")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadTokensError(f"{where} is not JSON (line {exc.lineno}: {exc.msg})") from None
    except (RecursionError, ValueError) as exc:  # nested too deep, or a number too long to read
        raise BadTokensError(
            f"{where} is not JSON midicli can read ({type(exc).__name__})"
        ) from None


def to_piece(data: Any, tokenizer: Tokenizer, where: str) -> Piece:
    """The piece that parsed token JSON describes (windows only for the AMT tokenizer)."""
    from midicli.tokenizers import amt

    if isinstance(data, dict) and "windows" in data and tokenizer.name == "amt":
        if not isinstance(data["windows"], list):
            raise BadTokensError(f'{where}: "windows" must be a list of {_WINDOW}')
        return Piece(
            amt.from_windows(
                [_window(w, f"{where} window {i}") for i, w in enumerate(data["windows"])]
            )
        )
    return tokenizer.decode(ints(data, where))


def ints(value: Any, where: str) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(t, int) and not isinstance(t, bool) for t in value
    ):
        raise BadTokensError(f"{where}: expected a JSON list of integer token ids")
    return value


def _window(data: Any, where: str) -> Any:
    from midicli.tokenizers import amt

    start = data.get("start", 0) if isinstance(data, dict) else None
    if (
        isinstance(start, bool)
        or not isinstance(start, (int, float))
        or not 0 <= start <= LATEST_SECONDS
        or math.isnan(start)
    ):
        raise BadTokensError(
            f"{where}: expected {_WINDOW} with a start from 0 to {LATEST_SECONDS:g} seconds"
        )
    events = ints(data.get("tokens"), where)
    if events:
        amt.validate(events)
    return amt.Window(float(start), events)
