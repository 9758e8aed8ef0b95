"""Built-in engines, registered through the same hook as any plugin's."""

from __future__ import annotations

from typing import Any

from midicli.hookspecs import hookimpl


def transformers_engine(model: str, device: str | None = None, dtype: str | None = None, **_: Any) -> Any:
    """Hugging Face transformers on cuda, mps or cpu (the default engine)."""
    from midicli.engines.models import load_model
    from midicli.engines.transformers import TransformersEngine

    return TransformersEngine(load_model(model, device=device, dtype=dtype))


@hookimpl
def register_engines(register):
    register("transformers", transformers_engine)
