"""A piano-roll picture: time across in seconds, pitch up, one colour per instrument.

For an infill the changed range (``highlight``) is shaded, so the eye goes straight
to what the model rewrote. Drawn with Pillow alone: a PNG is all it takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from midicli.music.instruments import instrument_name
from midicli.music.piece import DRUMS, Piece
from midicli.render.core import RenderError

PALETTE = (
    (59, 111, 182), (224, 123, 40), (58, 157, 74), (200, 57, 59), (138, 92, 184), (140, 90, 60),
    (212, 106, 168), (47, 166, 160), (181, 161, 0), (76, 179, 230), (154, 47, 106), (106, 154, 42),
    (232, 161, 58), (45, 78, 156), (160, 82, 45), (120, 120, 200),
)  # fmt: skip
DRUM_COLOUR = (85, 85, 85)
BACKGROUND, BLACK_KEY_ROW = (255, 255, 255), (242, 242, 242)
HIGHLIGHT = (255, 233, 168)
GRID, OCTAVE_LINE, FRAME, TEXT = (221, 221, 221), (200, 200, 200), (150, 150, 150), (40, 40, 40)

LEFT, TOP, RIGHT, BOTTOM = 44, 46, 16, 30  # margins around the plot, in pixels
PIXELS_PER_SECOND = 40
PLOT_WIDTH = (640, 2400)  # narrowest, widest
PLOT_HEIGHT = 440  # aimed for; each semitone row gets 3-12 pixels
TICK_STEPS = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300)
MIN_TICK_SPACING = 70
SWATCH, LEGEND_ROW = 12, 18
BLACK_KEYS = {1, 3, 6, 8, 10}
PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def instrument_colours(piece: Piece) -> dict[int, tuple[int, int, int]]:
    """The colour of each instrument: palette colours in order of appearance, drums grey."""
    melodic = [i for i in piece.instruments if i != DRUMS]
    colours = {i: PALETTE[n % len(PALETTE)] for n, i in enumerate(melodic)}
    return colours | ({DRUMS: DRUM_COLOUR} if DRUMS in piece.instruments else {})


@dataclass(frozen=True)
class Layout:
    """Where seconds and pitches land in the picture (the legend sits to the right)."""

    seconds: float
    low: int
    high: int
    plot_width: int
    row: int

    @property
    def plot_height(self) -> int:
        return (self.high - self.low + 1) * self.row

    def x(self, seconds: float) -> int:
        return LEFT + round(seconds / self.seconds * self.plot_width)

    def y(self, pitch: int) -> int:
        """The top of the pitch's row."""
        return TOP + (self.high - pitch) * self.row


def layout(piece: Piece, highlight: tuple[float, float] | None = None) -> Layout:
    seconds = max(piece.duration, highlight[1] if highlight else 0.0, 1.0)
    low = max(0, min(n.pitch for n in piece.notes) - 2)
    high = min(127, max(n.pitch for n in piece.notes) + 2)
    width = min(max(round(seconds * PIXELS_PER_SECOND), PLOT_WIDTH[0]), PLOT_WIDTH[1])
    row = min(max(round(PLOT_HEIGHT / (high - low + 1)), 3), 12)
    return Layout(seconds, low, high, width, row)


def _time_label(seconds: float, span: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}" if span >= 120 else f"{seconds:g} s"


def render_png(piece: Piece, out_path: Path, **options: Any) -> None:
    """Write the piano roll as a PNG (options used: ``title``, ``highlight``)."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise RenderError("piano rolls need Pillow: pip install 'midicli[render]'") from None
    highlight: tuple[float, float] | None = options.get("highlight")
    title: str = options.get("title") or ""
    at = layout(piece, highlight)
    colours = instrument_colours(piece)
    font = ImageFont.load_default(size=12)
    legend = [(colours[i], instrument_name(i)) for i in piece.instruments]
    legend_width = max(int(font.getlength(name)) for _, name in legend) + SWATCH + 18
    right_edge = LEFT + at.plot_width
    width = right_edge + RIGHT + legend_width
    height = max(TOP + at.plot_height + BOTTOM, TOP + LEGEND_ROW * len(legend) + 8)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    bottom = TOP + at.plot_height

    for pitch in range(at.low, at.high + 1):
        if pitch % 12 in BLACK_KEYS:
            draw.rectangle(
                [LEFT, at.y(pitch), right_edge, at.y(pitch) + at.row - 1], fill=BLACK_KEY_ROW
            )
    if highlight:
        start, end = at.x(highlight[0]), at.x(highlight[1])
        draw.rectangle([start, TOP, max(start, end - 1), bottom - 1], fill=HIGHLIGHT)
        draw.text(
            (start + 3, TOP - 16),
            f"infill {highlight[0]:g}-{highlight[1]:g} s",
            fill=TEXT,
            font=font,
        )
    step = next(
        (s for s in TICK_STEPS if s * at.plot_width / at.seconds >= MIN_TICK_SPACING),
        TICK_STEPS[-1],
    )
    tick = 0.0
    while tick <= at.seconds + 1e-9:
        draw.line([at.x(tick), TOP, at.x(tick), bottom], fill=GRID)
        draw.text(
            (at.x(tick), bottom + 6),
            _time_label(tick, at.seconds),
            fill=TEXT,
            font=font,
            anchor="ma",
        )
        tick += step
    for pitch in range(at.low, at.high + 1):
        if pitch % 12 == 0:
            draw.line(
                [LEFT, at.y(pitch) + at.row - 1, right_edge, at.y(pitch) + at.row - 1],
                fill=OCTAVE_LINE,
            )
            draw.text(
                (LEFT - 6, at.y(pitch) + at.row // 2),
                f"C{pitch // 12 - 1}",
                fill=TEXT,
                font=font,
                anchor="rm",
            )

    for note in piece.notes:
        left, top = at.x(note.onset), at.y(note.pitch)
        right = max(left + 1, at.x(note.end) - 1)  # a gap between repeated notes
        draw.rectangle([left, top, right, top + at.row - 2], fill=colours[note.instrument])

    draw.rectangle([LEFT, TOP, right_edge, bottom], outline=FRAME)
    draw.text((LEFT, 8), title, fill=TEXT, font=font)
    summary = f"{piece.duration:.1f} s, {len(piece.notes)} notes"
    draw.text((right_edge, 8), summary, fill=TEXT, font=font, anchor="ra")
    for n, (colour, name) in enumerate(legend):
        y = TOP + n * LEGEND_ROW
        draw.rectangle(
            [right_edge + RIGHT, y, right_edge + RIGHT + SWATCH - 1, y + SWATCH - 1], fill=colour
        )
        draw.text(
            (right_edge + RIGHT + SWATCH + 6, y + SWATCH // 2),
            name,
            fill=TEXT,
            font=font,
            anchor="lm",
        )
    image.save(out_path, format="PNG")
