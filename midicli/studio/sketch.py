"""A one-line text piano roll, so candidates can be told apart without leaving the terminal.

Each character is a slice of time; its block's height is the highest pitch sounding
in that slice (drums alone show as ``·``, silence as a space). Candidates drawn
together share one time scale and pitch range, so their shapes compare directly.
"""

from __future__ import annotations

from midicli.music.piece import Piece

BLOCKS = "▁▂▃▄▅▆▇█"
DRUMS_ONLY = "·"
WIDTH = 32


def sketches(
    pieces: list[Piece], window: tuple[float, float] | None = None, width: int = WIDTH
) -> list[str]:
    """One line per piece over ``window`` (start, end seconds; default: the longest piece)."""
    start, end = window or (0.0, max((p.duration for p in pieces), default=0.0))
    melodic = [
        n.pitch
        for p in pieces
        for n in p.notes
        if not n.is_drum and n.end > start and n.onset < end
    ]
    low, high = min(melodic, default=0), max(melodic, default=0)
    step = (end - start) / width if end > start else 0.0
    lines = []
    for piece in pieces:
        columns = []
        for column in range(width):
            left, right = start + column * step, start + (column + 1) * step
            sounding = [
                n for n in piece.notes if n.onset < right and (n.end > left or n.onset >= left)
            ]
            pitches = [n.pitch for n in sounding if not n.is_drum]
            if pitches:
                share = (max(pitches) - low) / (high - low) if high > low else 0.5
                columns.append(BLOCKS[round(share * (len(BLOCKS) - 1))])
            else:
                columns.append(DRUMS_ONLY if sounding else " ")
        lines.append("".join(columns))
    return lines
