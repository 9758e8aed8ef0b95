"""The music object model: a Piece is a list of Notes in real time (seconds)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

PITCHES = 128  # MIDI pitches 0–127
PROGRAMS = 128  # General MIDI programs 0–127
DRUMS = PROGRAMS  # the drum kit's instrument number, after the programs
INSTRUMENTS = PROGRAMS + 1  # every instrument number: the programs and the drum kit

LATEST_SECONDS = 86_400.0
"""No time read from text (notes text, token windows) lies past a day: later than any
piece, and it keeps a 400-digit number from becoming an infinite time."""


@dataclass(frozen=True, order=True)
class Note:
    """One sounding note. ``instrument`` is a General MIDI program 0–127, or 128 for drums."""

    onset: float
    duration: float
    pitch: int
    instrument: int = 0
    velocity: int = 72

    @property
    def end(self) -> float:
        return self.onset + self.duration

    @property
    def is_drum(self) -> bool:
        return self.instrument == DRUMS

    def __repr__(self) -> str:
        return (
            f"Note(onset={self.onset:.3f}, duration={self.duration:.3f}, pitch={self.pitch}, "
            f"instrument={self.instrument}, velocity={self.velocity})"
        )


@dataclass(frozen=True)
class TempoChange:
    """Tempo from ``time`` (seconds) on, in quarter notes per minute."""

    time: float
    bpm: float


@dataclass(frozen=True)
class TimeSignature:
    time: float
    numerator: int
    denominator: int


@dataclass
class Piece:
    """Notes in the order they sound (the order of their note-on messages), plus the
    tempo and meter the file declared, kept so bars and beats can be computed."""

    notes: list[Note] = field(default_factory=list)
    tempos: list[TempoChange] = field(default_factory=list)
    time_signatures: list[TimeSignature] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Seconds until the last note ends."""
        return max((n.end for n in self.notes), default=0.0)

    @property
    def instruments(self) -> list[int]:
        """Instruments in order of first appearance."""
        return list(dict.fromkeys(n.instrument for n in self.notes))

    def with_notes(self, notes: list[Note]) -> Piece:
        """The same tempo and meter with other notes (how edits make new versions)."""
        return replace(self, notes=list(notes))

    def __repr__(self) -> str:
        return (
            f"Piece({len(self.notes)} notes, {self.duration:.2f} s, instruments={self.instruments})"
        )
