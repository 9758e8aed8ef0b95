"""Moving a training sequence to another key, caption and all.

Folk tunes sit in a few keys and chorales in a few more, so a model can guess the key
from the genre and never read it in the caption. Training each sequence in a random
transposition, with the caption's key renamed to match, makes the caption the only
place the key can come from.
"""

from __future__ import annotations

from typing import Any

from midicli.music.captions import transpose_caption
from midicli.tokenizers.vocab import ANOTE_OFFSET, DRUMS, MAX_NOTE, MAX_PITCH, NOTE_OFFSET


def transpose_music(music: list[int], semitones: int) -> list[int] | None:
    """The music ids with every pitched note (events and controls, not drums) moved by
    ``semitones``; None when a note would leave the MIDI range."""
    moved = list(music)
    for i, token in enumerate(music):
        for offset in (NOTE_OFFSET, ANOTE_OFFSET):
            if offset <= token < offset + MAX_NOTE:
                instrument, pitch = divmod(token - offset, MAX_PITCH)
                if instrument != DRUMS:
                    if not 0 <= pitch + semitones < MAX_PITCH:
                        return None
                    moved[i] = token + semitones
    return moved


def transpose_row(row: dict[str, Any], semitones: int) -> dict[str, Any]:
    """A dataset row (caption and music ids) moved by ``semitones``; the row unchanged
    when its notes cannot move that far."""
    music = transpose_music(row["music"], semitones) if semitones else None
    if music is None:
        return row
    return row | {"caption": transpose_caption(row["caption"], semitones), "music": music}
