"""MIDI-LLM's prompt layout, byte for byte as the model was trained on it.

Text ids (with the tokenizer's BOS) of ``SYSTEM + description + " "``, then the
AUTOREGRESS token (ANTICIPATE when the music holds controls), then the music.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from midicli.tokenizers.vocab import ANTICIPATE, AUTOREGRESS


@cache
def system_prompt() -> str:
    """The composer system prompt, kept in the top-level prompts/ folder (installed as
    ``midicli.prompts``)."""
    return (resources.files("midicli.prompts") / "composer.txt").read_text(encoding="utf-8")


def text_ids(tokenizer: Any, description: str) -> list[int]:
    """The text part: the tokenizer adds its BOS, as in MIDI-LLM's training."""
    return list(
        tokenizer(system_prompt() + description + " ", add_special_tokens=True)["input_ids"]
    )


def build_prompt(
    text: Sequence[int], text_vocab_size: int, music: Sequence[int] = (), anticipate: bool = False
) -> list[int]:
    """Full-vocabulary ids: text, the mode token, then music tokens shifted past the text
    vocabulary."""
    mode = ANTICIPATE if anticipate else AUTOREGRESS
    return [*text, text_vocab_size + mode, *(text_vocab_size + token for token in music)]
