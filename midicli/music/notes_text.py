"""Notes as text: one note per line, readable in any editor and clean in a diff.

    tempo 96
    meter 3/4
    #   onset  duration  instrument               pitch  velocity
        0.000     0.480  Acoustic Grand Piano     C4      72
        2:2.5       0:1  Cello                    G2      64   # a comment

Times are seconds (``12.345``) or bars:beats on the piece's tempo map and meter: an
onset ``9:3.5`` is bar 9, beat 3.5; a duration ``0:1.5`` lasts 1.5 beats and ``1:0``
a whole bar. ``tempo BPM [at SECONDS]`` and ``meter N/D [at BAR:BEAT]`` lines declare
the tempo map and meter. A ``#`` at the start of a line or after a space starts a
comment (``C#4`` is a pitch).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict, deque
from dataclasses import dataclass, replace

from midicli.errors import MidicliError
from midicli.music.instruments import UnknownInstrumentError, instrument_name, parse_instrument
from midicli.music.meter import Meter
from midicli.music.piece import LATEST_SECONDS, PITCHES, Note, Piece, TempoChange, TimeSignature

TIME_STYLES = ("seconds", "bars")
SUFFIX = ".notes"
PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_STEPS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_PITCH = re.compile(r"^([A-Ga-g])(#|b)?(-?\d+)$")
_SECONDS = re.compile(r"^-?\d+(?:\.\d*)?$")
_BARS = re.compile(r"^(-?\d+):(-?\d+(?:\.\d*)?)$")
_COMMENT = re.compile(r"(?:^|\s)#")
DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)
COLUMNS = f"#{'onset':>8}  {'duration':>8}  {'instrument':<23}  {'pitch':<5}  velocity"


@dataclass(frozen=True)
class LineError:
    number: int  # 1-based; 0 for the text as a whole
    line: str
    reason: str

    def __str__(self) -> str:
        shown = self.line.strip()
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return f"line {self.number}: {self.reason}: {shown!r}" if self.number else self.reason


class NotesTextError(MidicliError):
    """Notes text with bad lines; ``errors`` names each line and what is wrong with it."""

    def __init__(self, errors: list[LineError], source: str = "") -> None:
        self.errors = errors
        more = f" (and {len(errors) - 1} more bad lines)" if len(errors) > 1 else ""
        super().__init__(f"{source + ' ' if source else ''}{errors[0]}{more}")


def pitch_name(pitch: int) -> str:
    """Scientific pitch name: 60 is C4 (middle C), 0 is C-1."""
    return f"{PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}"


def parse_pitch(word: str) -> int:
    """A MIDI pitch from a name (C4, F#3, Bb2) or a number 0–127."""
    match = _PITCH.match(word)
    if word.isdigit():
        pitch = int(word)
    elif match:
        step, accidental, octave = match.groups()
        pitch = (
            (int(octave) + 1) * 12
            + _STEPS[step.lower()]
            + {"#": 1, "b": -1}.get(accidental or "", 0)
        )
    else:
        raise ValueError(
            f"cannot read the pitch {word!r}: write a name like C4, F#3, Bb2 or a MIDI number 0–127"
        )
    if not 0 <= pitch < PITCHES:
        raise ValueError(f"pitch {word} is outside MIDI's range C-1–G9 (0–127)")
    return pitch


# -- writing -------------------------------------------------------------------------


def _decimal(value: float, places: int) -> str:
    """``value`` to ``places`` decimals without trailing zeros (3.250 → 3.25, 4.000 → 4)."""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _segment(meter: Meter, beat: float) -> tuple[int, float, TimeSignature]:
    """(bars before it, start beat, signature) of the meter segment holding ``beat``:
    the inverse of ``Meter.beat_of_bar`` (a bar cut short by a meter change counts whole)."""
    bars_done = 0
    starts = [meter.beat_at(s.time) for s in meter.signatures]
    for i, signature in enumerate(meter.signatures):
        if i + 1 == len(starts) or beat < starts[i + 1] - 1e-9:
            return bars_done, starts[i], signature
        length = signature.numerator * 4.0 / signature.denominator
        bars_done += math.ceil((starts[i + 1] - starts[i]) / length - 1e-9)
    raise AssertionError("a meter has at least one signature")


def _bars(meter: Meter, onset: float, duration: float) -> tuple[str, str]:
    """Onset as bar:beat (both from 1) and duration as bars:beats, in the meter's beat unit."""
    beat = meter.beat_at(onset)
    bars_done, start, signature = _segment(meter, beat)
    unit = 4.0 / signature.denominator
    bar, beat_in_bar = divmod(round((beat - start) / unit, 3), signature.numerator)
    bars, beats = divmod(
        round((meter.beat_at(onset + duration) - beat) / unit, 3), signature.numerator
    )
    return (
        f"{bars_done + int(bar) + 1}:{_decimal(beat_in_bar + 1, 3)}",
        f"{int(bars)}:{_decimal(beats, 3)}",
    )


def _note_line(note: Note, meter: Meter, time: str) -> str:
    if time == "bars":
        onset, duration = _bars(meter, note.onset, note.duration)
    else:
        onset, duration = f"{note.onset:.3f}", f"{note.duration:.3f}"
    return (
        f"{onset:>9}  {duration:>8}  {instrument_name(note.instrument):<23}  "
        f"{pitch_name(note.pitch):<5}  {note.velocity:>3}"
    )


def to_text(piece: Piece, time: str = "seconds", title: str = "") -> str:
    """The piece as notes text, notes in time order. With ``time="bars"`` the tempo map
    and meter in use (estimated when the piece declares none) are written out, so the
    bar:beat positions can be read back the same way."""
    if time not in TIME_STYLES:
        raise MidicliError(f"time must be one of {', '.join(TIME_STYLES)}, not {time!r}")
    meter = Meter.of(piece)
    tempos, signatures = (
        (meter.tempos, meter.signatures)
        if time == "bars"
        else (piece.tempos, piece.time_signatures)
    )
    lines = [
        f"# midicli notes{': ' + title if title else ''} ({len(piece.notes)} notes, "
        f"{piece.duration:.2f} s)",
        "# Times in seconds (12.345) or bar:beat (9:3.5; a duration 0:1.5 lasts 1.5 beats).",
        "# Instruments by General MIDI name, a common word (piano, bass, drums) or number 0–128;",
        "# pitches as names (C4 is middle C, F#3, Bb2) or numbers 0–127; velocity 1–127.",
        "# A # at the start of a line or after a space begins a comment.",
    ]
    if time == "seconds" and not piece.tempos:
        bpm, sig = meter.tempos[0].bpm, meter.signatures[0]
        lines.append(
            f"# No tempo declared: bar:beat times use an estimated {_decimal(bpm, 2)} bpm in "
            f"{sig.numerator}/{sig.denominator}."
        )
    lines += [
        f"tempo {_decimal(t.bpm, 6)}" + (f" at {_decimal(t.time, 6)}" if t.time else "")
        for t in tempos
    ]
    lines += [
        f"meter {s.numerator}/{s.denominator}"
        + (f" at {_bars(meter, s.time, 0.0)[0]}" if s.time else "")
        for s in signatures
    ]
    lines.append(COLUMNS)
    lines += [_note_line(note, meter, time) for note in sorted(piece.notes, key=lambda n: n.onset)]
    return "\n".join(lines) + "\n"


# -- reading -------------------------------------------------------------------------


def _content(line: str) -> str:
    return _COMMENT.split(line, maxsplit=1)[0].strip()


def _seconds(word: str, what: str) -> float:
    if not _SECONDS.match(word):
        raise ValueError(f"cannot read the {what} {word!r}: write seconds (12.5)")
    value = float(word)
    if value < 0:
        raise ValueError(f"the {what} must not be negative, got {word}")
    return _within(value, what, word)


def _within(value: float, what: str, word: str) -> float:
    """``value`` if finite and at most ``LATEST_SECONDS`` (a 400-digit number is neither)."""
    if not math.isfinite(value) or value > LATEST_SECONDS:
        shown = word if len(word) <= 12 else f"{word[:9]}... ({len(word)} characters)"
        raise ValueError(
            f"the {what} {shown} is past {LATEST_SECONDS:g} s, the latest time notes text may give"
        )
    return value


def _at(words: list[str], meter: Meter | None = None) -> float:
    """The optional ``at SECONDS`` (or, for a meter, ``at BAR:BEAT``) after a value."""
    if not words:
        return 0.0
    if len(words) != 2 or words[0] != "at":
        raise ValueError("expected nothing or 'at TIME' after the value")
    return _onset(words[1], meter) if meter is not None else _seconds(words[1], "time")


def _tempo(words: list[str]) -> TempoChange:
    value = words[1] if len(words) > 1 else ""
    if not _SECONDS.match(value) or not 4 <= float(value) <= 1000:
        raise ValueError(f"a tempo is beats per minute between 4 and 1000, not {value!r}")
    return TempoChange(_at(words[2:]), float(value))


def _meter(words: list[str], meter: Meter) -> TimeSignature:
    """A meter change; ``at BAR:BEAT`` counts bars in the meters declared above it."""
    numerator, _, denominator = (words[1] if len(words) > 1 else "").partition("/")
    if not (
        numerator.isdigit()
        and denominator.isdigit()
        and 1 <= int(numerator) <= 64
        and int(denominator) in DENOMINATORS
    ):
        shown = words[1] if len(words) > 1 else ""
        raise ValueError(
            f"a meter is N/D with N from 1 to 64 and D one of {', '.join(map(str, DENOMINATORS))}, "
            f"not {shown!r}"
        )
    return TimeSignature(_at(words[2:], meter), int(numerator), int(denominator))


def _onset(word: str, meter: Meter) -> float:
    bars = _BARS.match(word)
    if bars:
        bar, beat = int(bars[1]), float(bars[2])
        if bar < 1 or beat < 1:
            raise ValueError(f"bars and beats count from 1, got {word}")
        try:
            seconds = meter.seconds_at(meter.beat_of_bar(bar, beat))
        except OverflowError:
            seconds = math.inf
        return _within(seconds, "onset", word)
    if not _SECONDS.match(word):
        raise ValueError(f"cannot read the onset {word!r}: write seconds (12.5) or bar:beat (9:3)")
    return _seconds(word, "onset")


def _duration(word: str, onset: float, meter: Meter) -> float:
    bars = _BARS.match(word)
    if bars:
        count, beats = int(bars[1]), float(bars[2])
        if count < 0 or beats < 0:
            raise ValueError(f"the duration must not be negative, got {word}")
        beat = meter.beat_at(onset)
        _, _, signature = _segment(meter, beat)
        try:
            length = (count * signature.numerator + beats) * 4.0 / signature.denominator
            seconds = max(meter.seconds_at(beat + length) - onset, 0.0)
        except OverflowError:
            seconds = math.inf
        return _within(seconds, "duration", word)
    if not _SECONDS.match(word):
        raise ValueError(
            f"cannot read the duration {word!r}: write seconds (0.5) or bars:beats (0:1.5)"
        )
    return _seconds(word, "duration")


def _note(words: list[str], meter: Meter) -> Note:
    if len(words) < 5:
        raise ValueError("expected onset, duration, instrument, pitch and velocity")
    onset = _onset(words[0], meter)
    duration = _duration(words[1], onset, meter)
    _within(onset + duration, "end of the note", f"{onset + duration:g}")
    try:
        instrument = parse_instrument(" ".join(words[2:-2]))
    except UnknownInstrumentError as error:
        raise ValueError(str(error)) from None
    pitch = parse_pitch(words[-2])
    if not words[-1].isdigit() or not 1 <= int(words[-1]) <= 127:
        raise ValueError(f"velocity is a whole number from 1 to 127, not {words[-1]!r}")
    return Note(onset, duration, pitch, instrument, int(words[-1]))


def from_text(text: str, grid: Meter | None = None, source: str = "") -> Piece:
    """The piece the text describes; every bad line is reported at once.

    bar:beat times use the text's tempo and meter lines, else ``grid`` (the meter of
    the piece being edited), else 120 bpm in 4/4. Notes come out in time order, notes
    at the same instant in the order of their lines."""
    errors: list[LineError] = []
    lines: dict[str, list[tuple[int, str, list[str]]]] = {"tempo": [], "meter": [], "note": []}
    for number, line in enumerate(text.splitlines(), start=1):
        words = _content(line).split()
        if words:
            lines[words[0].lower() if words[0].lower() in ("tempo", "meter") else "note"].append(
                (number, line, words)
            )

    grid = grid or Meter.of(Piece())
    tempos: list[TempoChange] = []
    signatures: list[TimeSignature] = []

    def meter() -> Meter:
        return Meter.of(Piece([], tempos or list(grid.tempos), signatures or list(grid.signatures)))

    notes: list[Note] = []
    # tempos first, then meters (each placed in the bars of those above it), then notes
    for kind, found, parse in (
        ("tempo", tempos, lambda w: _tempo(w)),
        ("meter", signatures, lambda w: _meter(w, meter())),
        ("note", notes, lambda w: _note(w, meter())),
    ):
        for number, line, words in lines[kind]:
            try:
                found.append(parse(words))  # type: ignore[arg-type]
            except (ValueError, OverflowError) as error:
                errors.append(LineError(number, line, str(error)))
    if not errors and not notes:
        errors.append(LineError(0, "", "the text holds no notes: a piece needs at least one"))
    if errors:
        raise NotesTextError(sorted(errors, key=lambda e: e.number), source)
    return Piece(
        sorted(notes, key=lambda n: n.onset),
        sorted(tempos, key=lambda t: t.time),
        sorted(signatures, key=lambda s: s.time),
    )


def keep_exact(edited: Piece, original: Piece, as_written: Piece) -> Piece:
    """``edited`` with every value the user left alone put back exactly as it was.

    Text holds times to the millisecond (or beat), so reading it back rounds them;
    ``as_written`` is ``original`` read back from its own text. A line left as it was
    gives back its original note, a changed line whose times were kept gets the exact
    original times, and unchanged tempo and meter lines the original's: an edit changes
    only what was edited."""
    by_line: defaultdict[Note, deque[Note]] = defaultdict(deque)
    times: dict[tuple[float, float], tuple[float, float]] = {}
    for exact, written in zip(
        sorted(original.notes, key=lambda n: n.onset), as_written.notes, strict=True
    ):
        by_line[written].append(exact)
        times.setdefault((written.onset, written.duration), (exact.onset, exact.duration))
    notes = []
    for note in edited.notes:
        if by_line[note]:
            notes.append(by_line[note].popleft())
        elif (note.onset, note.duration) in times:
            onset, duration = times[note.onset, note.duration]
            notes.append(replace(note, onset=onset, duration=duration))
        else:
            notes.append(note)
    tempos = original.tempos if edited.tempos == as_written.tempos else edited.tempos
    signatures = (
        original.time_signatures
        if edited.time_signatures == as_written.time_signatures
        else edited.time_signatures
    )
    return Piece(notes, list(tempos), list(signatures))
