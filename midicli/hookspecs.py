"""Every extension point of midicli. Built-ins implement these exactly like plugins do.

Each ``register_*`` hook receives a ``register`` callback; call it once per thing
the plugin adds. Documented in README.md ("Writing a plugin"): a test keeps the two
in step.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("midicli")
hookimpl = pluggy.HookimplMarker("midicli")


@hookspec
def register_tokenizers(register):
    """Register ``Tokenizer`` instances (``midicli.tokenizers.base``); ``tokenize
    --tokenizer NAME`` picks one by its ``name``."""


@hookspec
def register_engines(register):
    """Register engines as ``register(name, factory)``; ``factory(model, **options)``
    returns an object following ``midicli.engines.base.Engine``."""


@hookspec
def register_renderers(register):
    """Register renderers as ``register(format, render)``: ``render(piece, out_path,
    **options)`` writes the piece in that format (e.g. ``wav``, ``png``)."""


@hookspec
def register_commands(app):
    """Add commands to the Typer ``app`` (current Typer vendors Click, so plugins get
    the Typer app itself)."""
