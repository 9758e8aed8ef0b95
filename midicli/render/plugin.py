"""Built-in renderers, registered through the same hook as any plugin's."""

from __future__ import annotations

from midicli.hookspecs import hookimpl


@hookimpl
def register_renderers(register):
    from midicli.render import audio, notation, pianoroll

    for fmt in audio.FORMATS:
        register(fmt, audio.renderer(fmt))
    register("png", pianoroll.render_png)
    register("musicxml", notation.render_musicxml)
    register("pdf", notation.render_pdf)
