"""midicli-html: ``midicli render REF --to html`` writes a page to listen and look."""

from __future__ import annotations

from midicli.hookspecs import hookimpl
from midicli_html.page import render_page

__all__ = ["render_page"]


@hookimpl
def register_renderers(register):
    register("html", render_page)
