"""midicli-remi: a REMI tokenizer for midicli (``midicli tokenize --tokenizer remi``)."""

from __future__ import annotations

from midicli.hookspecs import hookimpl
from midicli_remi.remi import Remi

__all__ = ["Remi"]


@hookimpl
def register_tokenizers(register):
    register(Remi())
