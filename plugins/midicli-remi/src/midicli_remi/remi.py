"""REMI: music as bars and beat positions rather than seconds.

After a header (TEMPO, METER), each bar opens with BAR; a POSITION token gives the
beat position of the notes that follow (12 steps per quarter note, so sixteenths and
triplets both land on the grid), and each note is PROGRAM PITCH VELOCITY DURATION
(REMI+ style, so several instruments share one stream). One tempo holds for the
whole piece: times come back exactly, to within half a grid step.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import accumulate

from midicli.errors import BadTokensError
from midicli.music.meter import Meter
from midicli.music.piece import DRUMS, Note, Piece, TempoChange, TimeSignature
from midicli.tokenizers.base import Tokenizer

STEPS_PER_QUARTER = 12
MAX_BAR_STEPS = 8 * STEPS_PER_QUARTER  # bars up to 8/4
MAX_DURATION_STEPS = 16 * STEPS_PER_QUARTER  # four bars of 4/4
TEMPOS = range(20, 301)  # bpm
NUMERATORS, DENOMINATORS = range(1, 17), (2, 4, 8, 16)
VELOCITY_STEP = 4

# Token blocks, in id order: (name, size)
_BLOCKS = (
    ("BAR", 1),
    ("POSITION", MAX_BAR_STEPS),
    ("PROGRAM", DRUMS + 1),  # General MIDI programs 0-127, then drums
    ("PITCH", 128),
    ("VELOCITY", 128 // VELOCITY_STEP),
    ("DURATION", MAX_DURATION_STEPS),  # 1 .. MAX_DURATION_STEPS grid steps
    ("TEMPO", len(TEMPOS)),
    ("METER", len(NUMERATORS) * len(DENOMINATORS)),
)
OFFSETS: dict[str, int] = dict(
    zip([name for name, _ in _BLOCKS], accumulate([size for _, size in _BLOCKS], initial=0))
)
VOCAB_SIZE = sum(size for _, size in _BLOCKS)
BAR = OFFSETS["BAR"]
NOTE_BLOCKS = ("PROGRAM", "PITCH", "VELOCITY", "DURATION")


def kind(token: int) -> tuple[str, int]:
    """The block a token belongs to and its value within the block."""
    for name, size in reversed(_BLOCKS):
        if OFFSETS[name] <= token < OFFSETS[name] + size:
            return name, token - OFFSETS[name]
    raise BadTokensError(f"token {token} is outside the REMI vocabulary (0-{VOCAB_SIZE - 1})")


def _meter_token(numerator: int, denominator: int) -> int:
    return (
        OFFSETS["METER"]
        + NUMERATORS.index(numerator) * len(DENOMINATORS)
        + DENOMINATORS.index(denominator)
    )


def _bar_steps(numerator: int, denominator: int) -> int:
    return numerator * 4 * STEPS_PER_QUARTER // denominator


class Remi(Tokenizer):
    name = "remi"
    description = (
        "REMI: bars, beat positions (12 per quarter) and program/pitch/velocity/duration per note"
    )
    vocab_size = VOCAB_SIZE

    def _encode(self, piece: Piece) -> list[int]:
        meter = Meter.of(piece)
        first = min(note.onset for note in piece.notes)
        bpm = min(max(round(_tempo_at(meter, first)), TEMPOS[0]), TEMPOS[-1])
        signature = meter.signatures[0]
        numerator, denominator = signature.numerator, signature.denominator
        if (
            numerator not in NUMERATORS
            or denominator not in DENOMINATORS
            or _bar_steps(numerator, denominator) > MAX_BAR_STEPS
        ):
            numerator, denominator = (
                4,
                4,
            )  # a meter REMI cannot write: bars of 4/4 still keep the times
        bar_steps = _bar_steps(numerator, denominator)

        def steps(seconds: float) -> int:
            return round(seconds * bpm / 60 * STEPS_PER_QUARTER)

        tokens = [OFFSETS["TEMPO"] + bpm - TEMPOS[0], _meter_token(numerator, denominator)]
        bar, position = -1, -1
        for note in sorted(piece.notes, key=lambda n: (steps(n.onset), n.instrument, n.pitch)):
            note_bar, note_position = divmod(steps(note.onset), bar_steps)
            while bar < note_bar:
                tokens.append(BAR)
                bar, position = bar + 1, -1
            if note_position != position:
                tokens.append(OFFSETS["POSITION"] + note_position)
                position = note_position
            tokens += [
                OFFSETS["PROGRAM"] + note.instrument,
                OFFSETS["PITCH"] + note.pitch,
                OFFSETS["VELOCITY"] + min(note.velocity, 127) // VELOCITY_STEP,
                OFFSETS["DURATION"] + min(max(steps(note.duration), 1), MAX_DURATION_STEPS) - 1,
            ]
        return tokens

    def _validate(self, tokens: list[int]) -> None:
        for _ in _read(tokens):
            pass

    def _decode(self, tokens: list[int]) -> Piece:
        bpm, numerator, denominator = _header(tokens)
        seconds_per_step = 60 / (bpm * STEPS_PER_QUARTER)
        notes = [
            Note(step * seconds_per_step, duration * seconds_per_step, pitch, program, velocity)
            for step, program, pitch, velocity, duration in _read(tokens)
        ]
        return Piece(
            notes,
            tempos=[TempoChange(0.0, float(bpm))],
            time_signatures=[TimeSignature(0.0, numerator, denominator)],
        )


def _tempo_at(meter: Meter, seconds: float) -> float:
    return [t for t in meter.tempos if t.time <= seconds][-1].bpm


def _header(tokens: list[int]) -> tuple[int, int, int]:
    if len(tokens) < 2 or kind(tokens[0])[0] != "TEMPO" or kind(tokens[1])[0] != "METER":
        raise BadTokensError("REMI tokens start with a TEMPO token, then a METER token")
    meter = kind(tokens[1])[1]
    return (
        TEMPOS[kind(tokens[0])[1]],
        NUMERATORS[meter // len(DENOMINATORS)],
        DENOMINATORS[meter % len(DENOMINATORS)],
    )


def _read(tokens: list[int]) -> Iterator[tuple[int, int, int, int, int]]:
    """(grid step, program, pitch, velocity, duration steps) per note; raises
    BadTokensError at the first token that breaks the grammar."""
    _, numerator, denominator = _header(tokens)
    bar_steps = _bar_steps(numerator, denominator)
    bar, position, index = -1, -1, 2
    while index < len(tokens):
        name, value = kind(tokens[index])
        if name == "BAR":
            bar, position = bar + 1, -1
            index += 1
        elif name == "POSITION":
            if bar < 0 or not position < value < bar_steps:
                raise BadTokensError(
                    f"token {index}: POSITION {value} must follow a BAR, rise within the bar and "
                    f"stay below {bar_steps}"
                )
            position = value
            index += 1
        elif name == "PROGRAM":
            if position < 0:
                raise BadTokensError(f"token {index}: a note needs a POSITION in its bar first")
            quad = [kind(t) for t in tokens[index : index + 4]]
            if [k for k, _ in quad] != list(NOTE_BLOCKS):
                raise BadTokensError(f"token {index}: a note is PROGRAM PITCH VELOCITY DURATION")
            (_, program), (_, pitch), (_, velocity), (_, duration) = quad
            yield (
                bar * bar_steps + position,
                program,
                pitch,
                velocity * VELOCITY_STEP + VELOCITY_STEP // 2,
                duration + 1,
            )
            index += 4
        else:
            raise BadTokensError(f"token {index}: unexpected {name} token")
