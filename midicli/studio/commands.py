"""The studio's command language: a typed line becomes a command record.

Words for the model are the rest of the line as typed (no quoting needed, so
"don't rush" is fine); leading ``-n N`` sets the number of candidates and ``-e``
writes the words in $EDITOR, starting from the last description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from midicli.errors import MidicliError
from midicli.music.notes_text import TIME_STYLES


class StudioSyntaxError(MidicliError):
    """A studio line that names no command or misses what the command needs."""


@dataclass(frozen=True)
class Compose:
    text: str | None
    n: int | None = None
    edit: bool = False


@dataclass(frozen=True)
class Continue:
    seconds: str | None
    text: str | None
    n: int | None = None
    edit: bool = False


@dataclass(frozen=True)
class Infill:
    start: str
    end: str
    text: str | None
    n: int | None = None
    edit: bool = False


@dataclass(frozen=True)
class Again:
    n: int | None = None


@dataclass(frozen=True)
class Keep:
    k: int


@dataclass(frozen=True)
class Prefer:
    better: str
    worse: str


@dataclass(frozen=True)
class Undo:
    pass


@dataclass(frozen=True)
class Redo:
    pass


@dataclass(frozen=True)
class Open:
    ref: str


@dataclass(frozen=True)
class ListPieces:
    pass


@dataclass(frozen=True)
class History:
    name: str | None = None


@dataclass(frozen=True)
class Show:
    ref: str | None = None


@dataclass(frozen=True)
class Render:
    format: str | None = None


@dataclass(frozen=True)
class Play:
    pass


@dataclass(frozen=True)
class Edit:
    time: str = "seconds"


@dataclass(frozen=True)
class Model:
    name: str | None = None


@dataclass(frozen=True)
class Adapter:
    name: str | None = None


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Quit:
    pass


Command = (Compose | Continue | Infill | Again | Keep | Prefer | Undo | Redo | Open | ListPieces
           | History | Show | Render | Play | Edit | Model | Adapter | Help | Quit)  # fmt: skip

# name -> (usage, what it does); the order is the order of `help`
USAGE: dict[str, tuple[str, str]] = {
    "compose": (
        "compose [-n N] [-e] TEXT",
        "new pieces from a description (-e: write it in $EDITOR)",
    ),
    "continue": (
        "continue [-n N] [-e] [SECONDS|BARSb] [TEXT]",
        "extend the current version (default 20 s)",
    ),
    "infill": (
        "infill [-n N] [-e] START END [TEXT]",
        "rewrite START–END of the current version (12.5, 9b, 9:3)",
    ),
    "again": ("again [N]", "ask the last request again (N candidates), with a new seed"),
    "keep": (
        "keep K  (or pick K)",
        "make candidate K current; records that it beat the other candidates",
    ),
    "prefer": ("prefer A B", "record that A is better than B (candidate numbers or NAME@N)"),
    "undo": ("undo", "go back to the previous current version and candidates (nothing is deleted)"),
    "redo": ("redo", "go forward again after undo"),
    "open": ("open REF", "make a version current: NAME or NAME@N"),
    "list": ("list", "the pieces of the project"),
    "history": ("history [NAME]", "every version of the current piece (or NAME)"),
    "show": ("show [REF]", "the current version (or REF): how it was made, a sketch of it"),
    "render": (
        "render [FORMAT]",
        "render the current version: wav (default), flac, mp3, png, musicxml…",
    ),
    "play": ("play", "render the current version as audio and play it"),
    "edit": (
        "edit [seconds|bars]",
        "edit the current version's notes as text in $EDITOR; saving makes a new version",
    ),
    "model": (
        "model [NAME]",
        "the model in use, or switch to another (a preset, hub id or folder)",
    ),
    "adapter": (
        "adapter [NAME|none]",
        "the tuned adapter in use, or switch (none: the base model)",
    ),
    "help": ("help", "this list"),
    "quit": ("quit", "leave the studio (Ctrl-D too); Ctrl-C cancels a running generation"),
}
ALIASES = {"pick": "keep", "exit": "quit", "q": "quit", "?": "help", "ls": "list"}
NAMES = tuple(USAGE) + tuple(ALIASES)

_LENGTH = re.compile(r"^\d+(?:\.\d+)?[sb]?$")


def _usage(name: str) -> StudioSyntaxError:
    return StudioSyntaxError(f"usage: {USAGE[name][0]}")


def _split(rest: str) -> tuple[str, str]:
    """The first word of ``rest`` and what follows it, as typed."""
    parts = rest.strip().split(maxsplit=1)
    return (parts[0], parts[1] if len(parts) > 1 else "") if parts else ("", "")


def _words(rest: str) -> str | None:
    """Free text: the rest of the line, without surrounding quotes; None when empty."""
    text = rest.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    return text or None


def _options(name: str, rest: str) -> tuple[int | None, bool, str]:
    """Leading ``-n N`` and ``-e`` of a generating command, and the rest of the line."""
    n, edit = None, False
    while True:
        word, after = _split(rest)
        if word == "-e":
            edit, rest = True, after
        elif word == "-n":
            count, rest = _split(after)
            if not count.isdigit() or int(count) < 1:
                raise StudioSyntaxError(
                    f"-n takes a number of candidates, 1 or more (usage: {USAGE[name][0]})"
                )
            n = int(count)
        else:
            return n, edit, rest


def _count(word: str, name: str) -> int:
    if not word.isdigit() or int(word) < 1:
        raise _usage(name)
    return int(word)


def _one(name: str, rest: str, required: bool = False) -> str | None:
    """The single word a command takes (optional unless ``required``)."""
    words = rest.split()
    if len(words) > 1 or (required and not words):
        raise _usage(name)
    return words[0] if words else None


def parse(line: str) -> Command | None:
    """The command on a studio line; None for a blank line."""
    word, rest = _split(line)
    if not word:
        return None
    name = ALIASES.get(word.lower(), word.lower())
    if name == "compose":
        n, edit, rest = _options(name, rest)
        return Compose(_words(rest), n, edit)
    if name == "continue":
        n, edit, rest = _options(name, rest)
        first, after = _split(rest)
        if _LENGTH.match(first):
            return Continue(first, _words(after), n, edit)
        return Continue(None, _words(rest), n, edit)
    if name == "infill":
        n, edit, rest = _options(name, rest)
        start, rest = _split(rest)
        end, rest = _split(rest)
        if not end:
            raise _usage(name)
        return Infill(start, end, _words(rest), n, edit)
    if name == "again":
        count = _one(name, rest)
        return Again(_count(count, name) if count else None)
    if name == "keep":
        return Keep(_count(_one(name, rest, required=True) or "", name))
    if name == "prefer":
        words = rest.split()
        if len(words) != 2:
            raise _usage(name)
        return Prefer(*words)
    if name == "redo" and rest.strip():
        raise StudioSyntaxError(
            "redo takes nothing (it undoes an undo); to ask the model again use `again "
            f"{rest.strip()}`"
        )
    if name == "edit":
        time = _one(name, rest) or "seconds"
        if time not in TIME_STYLES:
            raise _usage(name)
        return Edit(time)
    single = {
        "open": Open,
        "history": History,
        "show": Show,
        "render": Render,
        "model": Model,
        "adapter": Adapter,
    }
    if name in single:
        return single[name](_one(name, rest, required=name == "open"))  # type: ignore[operator]
    plain = {
        "undo": Undo,
        "redo": Redo,
        "list": ListPieces,
        "play": Play,
        "help": Help,
        "quit": Quit,
    }
    if name in plain:
        if rest.strip():
            raise _usage(name)
        return plain[name]()  # type: ignore[operator]
    raise StudioSyntaxError(f"unknown command {word!r}: type `help` for the list")
