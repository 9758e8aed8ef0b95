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
# grammar (``engines.constraints``): the blocks of a (TIME, DUR, NOTE|REST) event and of
# an (ATIME, ADUR, ANOTE) control, in triplet order.
EVENT_BLOCKS: tuple[Range, ...] = ((TIME_OFFSET, DUR_OFFSET), (DUR_OFFSET, NOTE_OFFSET), (NOTE_OFFSET, REST))
CONTROL_BLOCKS: tuple[Range, ...] = tuple((a + CONTROL_OFFSET, b + CONTROL_OFFSET) for a, b in EVENT_BLOCKS)
_RANGES = {  # inclusive, for messages
    name: (start, end - 1) for name, (start, end) in zip(EVENT_KINDS + CONTROL_KINDS, EVENT_BLOCKS + CONTROL_BLOCKS)
}
_POSITIONS = ("time", "duration", "instrument and pitch")


def kind(token: int) -> str:
    """The block an id belongs to: TIME, DUR, NOTE, REST, ATIME, ADUR, ANOTE, a special's name, or "unknown"."""
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
            last, tokens[last], f"the last note is cut short: {len(tokens) - start} music tokens is not a multiple of 3"
        )
    return start


def check_note(tokens: Sequence[int], index: int, *, allow_controls: bool) -> bool:
    """Check the triplet at ``index`` is one whole event or control; True for a control."""
    head = tokens[index]
    if kind(head) == "ATIME" and allow_controls:
        expected, what = CONTROL_KINDS, "control"
    elif kind(head) == "TIME":
        expected, what = EVENT_KINDS, "note"
    else:
        wanted = _describe("TIME") + (f" or {_describe('ATIME')}" if allow_controls else "")
        found = kind(head)
        why = "controls are not allowed here" if found == "ATIME" else f"got {_article(found)} {found} token"
        raise _fail(index, head, f"expected {wanted} at position 0 of a note, {why}")
    for offset in (1, 2):
        token = tokens[index + offset]
        found = kind(token)
        if found != expected[offset] and not (found == "REST" and expected[offset] == "NOTE"):
            raise _fail(
                index + offset,
                token,
                f"expected {_describe(expected[offset])} at position {offset} of a {what} "
                f"(its {_POSITIONS[offset]}), got {_article(found)} {found} token",
            )
    return what == "control"


def validate(tokens: Sequence[int], *, allow_controls: bool = True, allow_specials: bool = True) -> None:
    """Raise BadTokensError naming the first token that breaks the grammar.

    The grammar: an optional AUTOREGRESS/ANTICIPATE first (ANTICIPATE when controls
    follow), then whole (TIME, DUR, NOTE|REST) events and (ATIME, ADUR, ANOTE)
    controls; event times never go back, nor do control times.
    """
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
    last_time = {False: 0, True: 0}
    for index in range(start, len(tokens), 3):
        is_control = check_note(tokens, index, allow_controls=allow_controls)
        if is_control and tokens[0] == AUTOREGRESS:
            raise _fail(index, tokens[index], "a control after AUTOREGRESS: sequences with controls start with ANTICIPATE")
        time = tokens[index] - (ATIME_OFFSET if is_control else TIME_OFFSET)
        if time < last_time[is_control]:
            what = "control" if is_control else "event"
            raise _fail(
                index,
                tokens[index],
                f"{what} time {time / TIME_RESOLUTION:.2f} s comes before the previous {what}'s "
                f"{last_time[is_control] / TIME_RESOLUTION:.2f} s",
            )
        last_time[is_control] = time
