"""Rendering pieces: audio (FluidSynth), a piano-roll picture and notation.

Every format is a renderer registered through the ``register_renderers`` hook (the
built-ins in ``midicli.render.plugin``), so plugins add formats the same way.
"""

from midicli.render.core import RenderError, default_path, formats, render_piece, render_version

__all__ = ["RenderError", "default_path", "formats", "render_piece", "render_version"]
