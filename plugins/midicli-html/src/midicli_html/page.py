"""One self-contained HTML page per piece: an audio player, the piano roll and the
instruments, with audio and picture embedded so the single file can be mailed or
opened anywhere.

It is built from other renderers (``png`` and an audio format) looked up by format,
as any plugin can: a plugin that replaces ``png`` changes this page too.
"""

from __future__ import annotations

import base64
import html
import shutil
import tempfile
from pathlib import Path
from typing import Any

from midicli.music.instruments import instrument_name
from midicli.music.piece import Piece
from midicli.render import render_piece

AUDIO_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
audio, img {{ display: block; margin: 1rem 0; max-width: 100%; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: 0.2rem 0.8rem; text-align: left; border-bottom: 1px solid #ddd; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{summary}</p>
<audio controls src="data:{audio_type};base64,{audio}"></audio>
<img alt="piano roll of {title}" src="data:image/png;base64,{roll}">
<table>
<tr><th>instrument</th><th>notes</th><th>lowest</th><th>highest</th><th>from</th><th>to</th></tr>
{rows}
</table>
</body>
</html>
"""


def _rows(piece: Piece) -> str:
    rows = []
    for instrument in piece.instruments:
        notes = [n for n in piece.notes if n.instrument == instrument]
        cells = (
            instrument_name(instrument), len(notes),
            min(n.pitch for n in notes), max(n.pitch for n in notes),
            f"{min(n.onset for n in notes):.1f} s", f"{max(n.end for n in notes):.1f} s",
        )  # fmt: skip
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in cells) + "</tr>"
        )
    return "\n".join(rows)


def render_page(piece: Piece, out_path: Path, **options: Any) -> None:
    """Write the page; MP3 audio when ffmpeg is installed (a tenth of the size), else WAV."""
    audio_format = "mp3" if shutil.which("ffmpeg") else "wav"
    with tempfile.TemporaryDirectory(prefix="midicli-html-") as work:
        roll = render_piece(piece, "png", Path(work) / "roll.png", **options)
        audio = render_piece(piece, audio_format, Path(work) / f"audio.{audio_format}", **options)
        title = html.escape(str(options.get("title") or Path(out_path).stem))
        page = PAGE.format(
            title=title,
            summary=html.escape(
                f"{piece.duration:.1f} s, {len(piece.notes)} notes, {len(piece.instruments)} "
                "instruments"
            ),
            audio_type=AUDIO_TYPES[audio_format],
            audio=base64.b64encode(audio.read_bytes()).decode("ascii"),
            roll=base64.b64encode(roll.read_bytes()).decode("ascii"),
            rows=_rows(piece),
        )
    Path(out_path).write_text(page, encoding="utf-8")
