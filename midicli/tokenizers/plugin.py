"""Built-in tokenizers, registered through the same hook as any plugin's."""

from __future__ import annotations

from midicli.hookspecs import hookimpl


@hookimpl
def register_tokenizers(register):
    from midicli.tokenizers.amt import AmtTokenizer

    register(AmtTokenizer())
