"""The piano roll: a real PNG where each instrument has its colour, pitch goes up,
and an infill's changed range is shaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from midicli.music.piece import Piece
from midicli.project import NewVersion, Project
from midicli.render import render_piece, render_version
from midicli.render.pianoroll import HIGHLIGHT, instrument_colours, layout


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def where(picture: np.ndarray, colour: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pixels painted exactly ``colour``."""
    return np.nonzero((picture == colour).all(axis=2))


def test_each_instrument_has_its_colour_and_the_flute_sits_above_the_bass(
    tmp_path: Path, duet: Piece
) -> None:
    picture = pixels(render_piece(duet, "png", tmp_path / "duet.png", title="duet"))
    at = layout(duet)
    assert picture.shape[1] > at.plot_width and picture.shape[0] >= at.plot_height
    bass, flute = (where(picture, colour) for colour in instrument_colours(duet).values())
    assert bass[0].size > 500 and flute[0].size > 500
    assert np.median(flute[0]) < np.median(bass[0])  # image rows grow downwards
    assert (
        abs(bass[1].min() - at.x(0.0)) <= 1
    )  # the first note starts at 0 s (the frame line is over it)


def test_a_long_piece_gets_a_wider_picture_up_to_a_limit(tmp_path: Path, chorale: Piece) -> None:
    short = pixels(
        render_piece(
            chorale.with_notes([n for n in chorale.notes if n.onset < 5]), "png", tmp_path / "a.png"
        )
    )
    long = pixels(render_piece(chorale, "png", tmp_path / "b.png"))
    assert 600 < short.shape[1] < long.shape[1] < 3000


def test_an_infill_version_shows_the_range_that_changed(tmp_path: Path, chorale: Piece) -> None:
    with Project.init(tmp_path / "album") as project:
        [original] = project.add_versions([NewVersion("chorale", chorale, "import")])
        [infill] = project.add_versions(
            [
                NewVersion(
                    "chorale",
                    chorale,
                    "infill",
                    parent=original,
                    params={"start": 6.0, "end": 12.0},
                )
            ]
        )
        out = render_version(project, infill, "png")
        assert out == project.root / "pieces" / "chorale" / "v2.png"
        _, columns = where(pixels(out), HIGHLIGHT)
        at = layout(chorale, (6.0, 12.0))
        assert (
            abs(columns.min() - at.x(6.0)) <= 1 and abs(columns.max() - at.x(12.0)) <= 1
        )  # grid lines cross it
        plain = render_version(project, original, "png")
        assert where(pixels(plain), HIGHLIGHT)[0].size == 0
