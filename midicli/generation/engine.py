"""The engine a request runs on: what the user asked for, else the project's settings.

One place for the choice so that commands, the studio and `eval` load models the same
way and refuse the same mistakes (an adapter tuned from another model, fp8 without vLLM).
"""

from __future__ import annotations

from typing import Any

from midicli.engines.base import Engine
from midicli.engines.models import default_model
from midicli.errors import ModelError
from midicli.project import Project
from midicli.project.adapters import NO_ADAPTER, check_base
from midicli.project.config import DEFAULT_ENGINE, ProjectConfig


def describe_choice(
    project: Project | None, model: str | None, engine: str | None, adapter: str | None
) -> str:
    """What would be loaded, in words (for a status line before a slow load)."""
    config = project.config if project is not None else ProjectConfig()
    wanted = adapter or config.adapter
    tuned = f" with adapter {wanted}" if wanted and wanted != NO_ADAPTER else ""
    return (
        f"{model or config.model or default_model()}{tuned} on the "
        f"{engine or config.engine or DEFAULT_ENGINE} engine"
    )


def load_engine(
    project: Project | None,
    model: str | None = None,
    engine: str | None = None,
    adapter: str | None = None,
    **options: Any,
) -> Engine:
    """The loaded engine (kept open for the process) for ``model`` on ``engine`` with a
    project adapter's name (``NO_ADAPTER`` for none); unset choices fall back to the
    project's settings, then to ``default_model``. Without a project there are no adapters."""
    from midicli.engines.pool import open_engine

    config = project.config if project is not None else ProjectConfig()
    chosen = model or config.model or default_model()
    name = engine or config.engine or DEFAULT_ENGINE
    if options.get("fp8") and name == "transformers":
        raise ModelError("--fp8 needs a vLLM engine: add --engine vllm (or server)")
    wanted = adapter or config.adapter
    tuned = (
        project.adapter(wanted) if project is not None and wanted and wanted != NO_ADAPTER else None
    )
    if tuned is not None:
        check_base(tuned, chosen)
    loaded = open_engine(
        name, chosen, adapter=str(project.root / tuned.path) if tuned else None, **options
    )
    if tuned and getattr(loaded, "adapter", None) is None:
        raise ModelError(
            f"the {name} engine cannot apply adapters: use --engine transformers, or --adapter none"
        )
    if tuned and loaded.model_hash != tuned.base_hash:
        raise ModelError(
            f"adapter {tuned.name} was tuned from {tuned.base_model}, not {chosen}: pass --model "
            f"{tuned.base_model} or --adapter none"
        )
    return loaded
