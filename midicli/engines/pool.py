"""Engines stay loaded for the life of a process (the studio relies on this)."""

from __future__ import annotations

from typing import Any

from midicli import plugins
from midicli.engines.base import Engine

_open: dict[tuple[str, str, tuple[tuple[str, Any], ...]], Engine] = {}


def open_engine(engine: str, model: str, **options: Any) -> Engine:
    """The loaded engine for (engine, model, options), started on first use.

    Options left unset (None, or a False flag) are dropped first, so a command that
    spells out every flag reuses an engine a script opened without them."""
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    key = (engine, model, tuple(sorted(given.items())))
    if key not in _open:
        _open[key] = plugins.get_engine_factory(engine)(model, **given)
    return _open[key]


def close_all() -> None:
    while _open:
        _open.popitem()[1].close()
