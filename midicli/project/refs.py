"""Piece names and references: ``NAME`` is a piece's latest version, ``NAME@N`` its version N.

Names become folder names under ``pieces/``, so they are kept to a small portable
alphabet; names for new pieces are made from the user's own words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from midicli.errors import ProjectError

MAX_NAME = 64
MAX_BASE = 48  # leaves room for a "-N" suffix when names are made unique
FALLBACK_BASE = "piece"

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_ALLOWED = (
    f"use 1–{MAX_NAME} lowercase letters, digits, '-', '_' or '.', starting with a letter or digit "
    "(no '/' and no '..')"
)

# Words that say little about the music, left out of names made from descriptions.
STOP_WORDS = frozenset(
    """a an the and or but nor of in on at to for with without by from into onto over under
    about as is are be been some any this that these those very quite my your our its it
    i me we you please write compose make create generate give play music piece song track
    composition""".split()
)


@dataclass(frozen=True)
class Ref:
    """A parsed reference; ``version`` None means the latest."""

    name: str
    version: int | None = None

    def __str__(self) -> str:
        return self.name if self.version is None else format_ref(self.name, self.version)


def format_ref(name: str, version: int) -> str:
    return f"{name}@{version}"


def check_name(name: str) -> str:
    """The name itself if it can name a piece; otherwise a ProjectError saying what can."""
    if any(not character.isprintable() for character in name):  # a newline would cut the message
        raise ProjectError(
            f"a piece name cannot hold control characters such as newlines: {name!r}"
        )
    if len(name) > MAX_NAME or ".." in name or not _NAME.fullmatch(name):
        raise ProjectError(f"'{name}' cannot name a piece: {_ALLOWED}")
    return name


def parse_ref(text: str) -> Ref:
    """``NAME`` or ``NAME@N`` (N ≥ 1) → Ref."""
    name, at, version = text.partition("@")
    check_name(name)
    if not at:
        return Ref(name)
    if not version.isdigit() or int(version) < 1:
        raise ProjectError(
            f"'{text}' is not a piece reference: write NAME or NAME@N with a version number N ≥ 1"
        )
    return Ref(name, int(version))


def slugify(description: str, max_words: int = 3) -> str:
    """A short name from a description: its first telling words, e.g.
    "A calm waltz for piano, in 3/4" → "calm-waltz-piano"."""
    words = [w for w in _words(description) if w not in STOP_WORDS and len(w) > 1]
    return _join(words[:max_words])


def clean_name(text: str) -> str:
    """Any text (a file name, say) as a usable name, keeping all its words."""
    return _join(_words(text))


def _words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.findall(r"[a-z0-9]+", plain.lower())


def _join(words: list[str]) -> str:
    base = ""
    for word in words:
        joined = f"{base}-{word}" if base else word
        if len(joined) > MAX_BASE:
            break
        base = joined
    return base or (words[0][:MAX_BASE] if words else FALLBACK_BASE)
