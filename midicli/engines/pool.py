"""Engines stay loaded for the life of a process (the studio relies on this)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from midicli import plugins
from midicli.engines.base import Engine

_Key = tuple[str, str, tuple[tuple[str, Any], ...]]
_open: dict[_Key, tuple[tuple[Any, ...], Engine]] = {}


def open_engine(engine: str, model: str, **options: Any) -> Engine:
    """The loaded engine for (engine, model, options), started on first use.

    Options left unset (None, or a False flag) are dropped first, so a command that
    spells out every flag reuses an engine a script opened without them. An adapter
    folder that was removed and tuned again under the same name (while a studio kept
    its engine) is loaded anew, and the stale engine closed."""
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    key = (engine, model, tuple(sorted(given.items())))
    version = _files(given.get("adapter"))
    if key in _open and _open[key][0] != version:
        _open.pop(key)[1].close()
    if key not in _open:
        _open[key] = (version, plugins.get_engine_factory(engine)(model, **given))
    return _open[key][1]


def _files(folder: str | None) -> tuple[Any, ...]:
    """What identifies a folder's files as written (name, size, modification time)."""
    if folder is None or not Path(folder).is_dir():
        return ()
    stats = ((p.name, p.stat()) for p in Path(folder).iterdir() if p.is_file())
    return tuple(sorted((name, stat.st_size, stat.st_mtime_ns) for name, stat in stats))


def close_all() -> None:
    while _open:
        _open.popitem()[1][1].close()
