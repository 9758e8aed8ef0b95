"""Notes, pieces and MIDI files."""

from midicli.music.piece import Note, Piece, TempoChange, TimeSignature

__all__ = ["Note", "Piece", "TempoChange", "TimeSignature"]
