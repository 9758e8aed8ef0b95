"""The grammar of AMT arrival-time token lists: what may stand where, and why not.

Errors name the first bad token by index and id, so a user editing tokens by hand
(or a generator bug) can be found at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from midicli.errors import BadTokensError
from midicli.tokenizers.vocab import (
    ANTICIPATE,
    ATIME_OFFSET,
    AUTOREGRESS,
    CONTROL_OFFSET,
    DUR_OFFSET,
    NOTE_OFFSET,
    REST,
    SEPARATOR,
    TIME_OFFSET,
    TIME_RESOLUTION,
)

SPECIALS = {SEPARATOR: "SEPARATOR", AUTOREGRESS: "AUTOREGRESS", ANTICIPATE: "ANTICIPATE"}
EVENT_KINDS = ("TIME", "DUR", "NOTE")
CONTROL_KINDS = ("ATIME", "ADUR", "ANOTE")

Range = tuple[int, int]
"""Half-open range ``[start, end)`` of music ids."""

# The grammar's alphabet, one statement for this validator and for the generation
# grammar (``amt_generation``): the blocks of a (TIME, DUR, NOTE|REST) event and of
# an (ATIME, ADUR, ANOTE) control, in triplet order.
EVENT_BLOCKS: tuple[Range, ...] = (
    (TIME_OFFSET, DUR_OFFSET),
    (DUR_OFFSET, NOTE_OFFSET),
    (NOTE_OFFSET, REST),
)
CONTROL_BLOCKS: tuple[Range, ...] = tuple(
    (a + CONTROL_OFFSET, b + CONTROL_OFFSET) for a, b in EVENT_BLOCKS
)
_RANGES = {  # inclusive, for messages
    name: (start, end - 1)
    for name, (start, end) in zip(EVENT_KINDS + CONTROL_KINDS, EVENT_BLOCKS + CONTROL_BLOCKS)
}
_POSITIONS = ("time", "duration", "instrument and pitch")


def kind(token: int) -> str:
    """The block an id belongs to: TIME, DUR, NOTE, REST, ATIME, ADUR, ANOTE, a special's name,
    or "unknown"."""
    if token == REST:
        return "REST"
    if token in SPECIALS:
        return SPECIALS[token]
    for name, (low, high) in _RANGES.items():
        if low <= token <= high:
            return name
    return "unknown"


def _article(name: str) -> str:
    return "an" if name[0] in "AEIOUaeiou" else "a"


def _describe(name: str) -> str:
    low, high = _RANGES[name]
    return f"{_article(name)} {name} token ({low}–{high})"


def _fail(index: int, token: int, why: str) -> BadTokensError:
    return BadTokensError(f"token {index} (id {token}): {why}")


def check_length(tokens: Sequence[int], *, specials: bool = True) -> int:
    """Index of the first music token (1 after a leading AUTOREGRESS/ANTICIPATE when
    ``specials``); raises unless whole triplets follow it."""
    start = 1 if specials and tokens and tokens[0] in (AUTOREGRESS, ANTICIPATE) else 0
    extra = (len(tokens) - start) % 3
    if extra:
        last = len(tokens) - extra
        raise _fail(
            last,
            tokens[last],
            f"the last note is cut short: {len(tokens) - start} music tokens is not a multiple of "
            "3",
        )
    return start


class Cursor:
    """Where a list of music tokens stands in AMT's triplets: the one statement of the
    format, which the validator and the generation grammar both follow. Whole
    (TIME, DUR, NOTE|REST) events and, where allowed, (ATIME, ADUR, ANOTE) controls;
    with ``ordered``, event times never go back, nor do control times."""

    def __init__(self, *, allow_controls: bool = True, ordered: bool = True) -> None:
        self.allow_controls = allow_controls
        self.ordered = ordered
        self.slot = 0  # position of the next token in its triplet
        self.control = False  # whether the current (or last) triplet is a control
        self._times = {False: 0, True: 0}  # the latest event time and control time

    def take(self, token: int) -> str | None:
        """Take the next token; the reason it cannot stand here (the cursor unchanged), or None."""
        found = kind(token)
        if self.slot == 0:
            if found == "ATIME" and self.allow_controls:
                control = True
            elif found == "TIME":
                control = False
            else:
                wanted = _describe("TIME") + (
                    f" or {_describe('ATIME')}" if self.allow_controls else ""
                )
                why = (
                    "controls are not allowed here"
                    if found == "ATIME"
                    else f"got {_article(found)} {found} token"
                )
                return f"expected {wanted} at position 0 of a note, {why}"
            time = token - (ATIME_OFFSET if control else TIME_OFFSET)
            if self.ordered and time < self._times[control]:
                what = "control" if control else "event"
                return (
                    f"{what} time {time / TIME_RESOLUTION:.2f} s comes before the previous "
                    f"{what}'s "
                    f"{self._times[control] / TIME_RESOLUTION:.2f} s"
                )
            self.control, self._times[control] = control, time
        else:
            expected = (CONTROL_KINDS if self.control else EVENT_KINDS)[self.slot]
            if found != expected and not (found == "REST" and expected == "NOTE"):
                return (
                    f"expected {_describe(expected)} at position {self.slot} of a "
                    f"{'control' if self.control else 'note'} (its {_POSITIONS[self.slot]}), "
                    f"got {_article(found)} {found} token"
                )
        self.slot = (self.slot + 1) % 3
        return None


def check_note(tokens: Sequence[int], index: int, *, allow_controls: bool) -> bool:
    """Check the triplet at ``index`` is one whole event or control; True for a control."""
    cursor = Cursor(allow_controls=allow_controls, ordered=False)
    for offset in range(3):
        why = cursor.take(tokens[index + offset])
        if why is not None:
            raise _fail(index + offset, tokens[index + offset], why)
    return cursor.control


def validate(
    tokens: Sequence[int], *, allow_controls: bool = True, allow_specials: bool = True
) -> None:
    """Raise BadTokensError naming the first token that breaks the grammar: an optional
    AUTOREGRESS/ANTICIPATE first (ANTICIPATE when controls follow), then what
    :class:`Cursor` reads, in whole triplets."""
    if not tokens:
        raise BadTokensError("no tokens")
    for index, token in enumerate(tokens):
        if kind(token) == "unknown":
            raise _fail(index, token, f"out of range: music ids are 0–{ANTICIPATE}")
        if token == SEPARATOR:
            raise _fail(index, token, "SEPARATOR is not part of MIDI-LLM's token language")
        if token in SPECIALS and not allow_specials:
            raise _fail(index, token, f"{SPECIALS[token]} is not allowed here")
        if token in SPECIALS and index > 0:
            raise _fail(index, token, f"{SPECIALS[token]} may only come first")
    start = check_length(tokens)
    cursor = Cursor(allow_controls=allow_controls)
    for index in range(start, len(tokens)):
        why = cursor.take(tokens[index])
        if why is not None:
            raise _fail(index, tokens[index], why)
        if cursor.control and cursor.slot == 1 and tokens[0] == AUTOREGRESS:
            raise _fail(
                index,
                tokens[index],
                "a control after AUTOREGRESS: sequences with controls start with ANTICIPATE",
            )
