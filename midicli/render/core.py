"""Rendering a piece in a format: find the renderer, write the file all at once.

A renderer is ``render(piece, out_path, **options)`` registered for a format through
the ``register_renderers`` hook. Every renderer, built-in or plugin, takes the same
options and ignores those it has no use for (``soundfont`` means nothing to a
picture), so callers pass one set of options whatever the format.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from midicli import plugins
from midicli.errors import MidicliError
from midicli.music.piece import Piece
from midicli.project import Project, VersionRecord


class RenderError(MidicliError):
    """A format nobody renders, a missing tool or soundfont, or an output that cannot be written."""


def formats() -> list[str]:
    """Every format some loaded renderer writes."""
    return sorted(plugins.renderers())


def _renderer(fmt: str) -> Callable[..., Any]:
    found = plugins.renderers()
    if fmt not in found:
        raise RenderError(f"no renderer for {fmt!r} (available: {', '.join(sorted(found))})")
    return found[fmt]


def _origin(render: Callable[..., Any]) -> str:
    """Where a renderer comes from, so a failure points at the right plugin."""
    return getattr(render, "__module__", None) or type(render).__module__


def render_piece(piece: Piece, fmt: str, out: Path, **options: Any) -> Path:
    """Write ``piece`` as ``fmt`` to ``out`` and return ``out``.

    The renderer writes under the final name (tools such as ffmpeg go by the
    extension) inside a hidden folder beside ``out``; the file is moved into place
    only once complete, so a failed or interrupted render leaves ``out`` as it was.
    """
    render = _renderer(fmt)
    if not piece.notes:
        raise RenderError("nothing to render: the piece has no notes")
    out = Path(out)
    try:
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as exc:
        raise RenderError(f"cannot write {out}: {exc.strerror or exc}") from None
    try:
        staged = staging / out.name
        try:
            render(piece, staged, **options)
        except MidicliError:
            raise
        except Exception as exc:  # a plugin's bug is named, not a traceback
            raise RenderError(
                f"the {fmt} renderer ({_origin(render)}) failed: {type(exc).__name__}: {exc}"
            ) from exc
        if not staged.is_file():
            raise RenderError(f"the {fmt} renderer ({_origin(render)}) wrote no file")
        try:
            os.replace(staged, out)
        except OSError as exc:
            raise RenderError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def default_path(project: Project, record: VersionRecord, fmt: str) -> Path:
    """``pieces/NAME/vN.FMT``: beside the version's MIDI, so removing the version removes it too."""
    return project.version_file(record).with_suffix(f".{fmt}")


def render_version(
    project: Project, record: VersionRecord, fmt: str, out: Path | None = None, **options: Any
) -> Path:
    """Render a stored version (by default into the project, see ``default_path``).

    Adds what the project knows: the version's reference as ``title``, the project's
    ``soundfont`` unless one is given, and for an infill the changed range as
    ``highlight=(start, end)`` in seconds, so a picture can show what changed.
    """
    options.setdefault("title", record.ref)
    if options.get("soundfont") is None and project.config.soundfont:
        options["soundfont"] = project.root / Path(project.config.soundfont).expanduser()
    if record.operation == "infill" and {"start", "end"} <= record.params.keys():
        options.setdefault(
            "highlight", (float(record.params["start"]), float(record.params["end"]))
        )
    return render_piece(
        project.load_piece(record), fmt, out or default_path(project, record, fmt), **options
    )
