"""midicli: compose MIDI with language models (MIDI-LLM and any model in its layout)."""

from midicli.errors import MidicliError
from midicli.music.piece import Note, Piece
from midicli.project import Project

__all__ = ["MidicliError", "Note", "Piece", "Project"]
__version__ = "0.1.0"
