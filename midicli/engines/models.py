"""Finding and loading models in the MIDI-LLM layout (text vocabulary + AMT music ids).

A model is named by a preset (``midi-llm``), a Hugging Face hub id or a local
directory. Hub ids are fetched into the usual hub cache once; after that (and for
directories) loading needs no network.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from midicli import defaults
from midicli.errors import ModelError, first_line
from midicli.tokenizers.vocab import MUSIC_VOCAB_SIZE

PRESETS: dict[str, str] = defaults.MODEL_PRESETS

TEXT_VOCAB_KEY = "midicli_text_vocab_size"  # config.json key written by our scaffolds
_PICKLED = {".bin", ".pt", ".pth", ".ckpt", ".pkl"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# What a generation model needs from a hub repository (skips e.g. original .pth copies).
_HUB_FILES = ["*.json", "*.safetensors", "tokenizer*", "*.model"]
_HASHED_SUFFIXES = {".json", ".safetensors", ".bin", ".model"}
_DTYPES = {
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "float32": torch.float32,
    "fp32": torch.float32,
    "float": torch.float32,
}


@dataclass
class LoadedModel:
    """A model ready to sample from, with what engines need to know about its vocabulary."""

    model: Any  # a transformers PreTrainedModel, in eval mode on ``device``
    tokenizer: Any  # the text tokenizer (AutoTokenizer)
    model_id: str  # hub id or absolute directory, as resolved
    text_vocab_size: int  # music token k is model id text_vocab_size + k
    eos_id: int | None
    device: torch.device
    dtype: torch.dtype
    hash: str  # short, stable: recorded in manifests to say which weights made a piece
    adapter: str | None = None  # the tuned adapter applied on top (its folder's name)
    quantization: str = "none"  # none, int8 or int4: how the transformer blocks' weights are stored

    @property
    def precision(self) -> str:
        """What versions record: the dtype, and the quantization if any."""
        return precision_name(self.dtype, self.quantization)

    @property
    def vocab_size(self) -> int:
        return int(self.model.config.vocab_size)


def precision_name(dtype: torch.dtype, quantization: str) -> str:
    """``float32``, or ``int8 weights, bfloat16``: how a model's weights are held."""
    name = str(dtype).removeprefix("torch.")
    return name if quantization == "none" else f"{quantization} weights, {name}"


def resolve_model(name_or_path: str | Path) -> str:
    """A preset name → its hub id; an existing directory → its absolute path; a hub id
    stays as it is. Anything else is a ModelError."""
    name = str(name_or_path)
    if name in PRESETS:
        return PRESETS[name]
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    if _HUB_ID.match(name):
        return name
    raise ModelError(
        f"no model directory at {name}, and it is not a hub id (owner/name) "
        f"or a preset ({', '.join(PRESETS)})"
    )


def quiet_transformers() -> None:
    """transformers' own progress bars would tear through the CLI's rich output."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def default_model() -> str:
    """The model used when none is chosen: MIDI-LLM where a CUDA GPU can run it, else
    the bundled ``mini``, which composes offline in seconds on a CPU."""
    return "midi-llm" if torch.cuda.is_available() else "mini"


def load_model(
    name_or_path: str | Path,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    adapter: str | Path | None = None,
    quantize: str | None = None,
) -> LoadedModel:
    """Load model and text tokenizer. ``device``: cuda → mps → cpu when not given;
    ``dtype``: bfloat16 on a GPU, float32 on the CPU when not given (bfloat16 there
    too when the weights are quantized). ``quantize``: none, int8, int4 or auto (see
    :func:`midicli.engines.quantize.resolve`). ``adapter``: a
    folder written by ``midicli tune`` — a LoRA adapter merged into the weights, or
    fully tuned weights loaded in their place; identity and hash stay the base's."""
    model_id = resolve_model(name_or_path)
    adapter_dir = Path(adapter) if adapter is not None else None
    if adapter_dir is not None and not adapter_dir.is_dir():
        raise ModelError(f"no adapter folder at {adapter_dir}")
    if adapter_dir is not None:
        check_weights(adapter_dir, f"adapter {adapter_dir.name}")
    directory = locate(model_id, download=True)
    config = read_config(directory, model_id)
    text_vocab_size = read_text_vocab_size(config, model_id)
    check_model_files(directory, model_id)
    target = pick_device(device)
    from midicli.engines.quantize import quantize_layers, resolve

    quantization = resolve(quantize, target, _weight_bytes(directory))
    torch_dtype = pick_dtype(
        dtype if dtype is not None or quantization == "none" else "bfloat16", target
    )

    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory)
        lora = adapter_dir is not None and (adapter_dir / "adapter_config.json").is_file()
        weights = adapter_dir if adapter_dir is not None and not lora else directory
        model = AutoModelForCausalLM.from_pretrained(
            weights, dtype=torch_dtype, use_safetensors=None if trust_pickle() else True
        )
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        raise ModelError(f"cannot load {model_id}: {first_line(e)}") from e
    if lora and adapter_dir is not None:
        model = _merge_lora(model, adapter_dir)
    model.to(target).eval()
    quantize_layers(model, quantization)
    eos_id = tokenizer.eos_token_id
    if eos_id is None:
        eos = config.eos_token_id
        eos_id = eos[0] if isinstance(eos, list) else eos
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        model_id=model_id,
        text_vocab_size=text_vocab_size,
        eos_id=eos_id,
        device=target,
        dtype=torch_dtype,
        hash=_hash_directory(directory),
        adapter=adapter_dir.name if adapter_dir is not None else None,
        quantization=quantization,
    )


@dataclass(frozen=True)
class LocalModel:
    """What `midicli models` says of a model present on this machine."""

    name: str
    path: Path
    size_bytes: int  # weight files
    precision: str  # what loading it with the defaults here gives
    seconds_per_1000_tokens: float  # expected, from the weight bytes a step reads


def describe_local(name: str, gb_s: float) -> LocalModel | None:
    """Size, default precision on this machine and expected speed (memory bandwidth
    ``gb_s``) of a preset, hub id or folder; None when it is not on this machine."""
    from midicli.engines.quantize import resolve, seconds_per_1000_tokens, step_bytes

    directory = offline_copy(name)
    if directory is None or not (directory / "config.json").is_file():
        return None
    config = read_config(directory, name)
    size, device = _weight_bytes(directory), pick_device(None)
    quantization = resolve(None, device, size)
    dtype = pick_dtype(None if quantization == "none" else "bfloat16", device)
    step = step_bytes(config, quantization, dtype.itemsize)
    return LocalModel(
        name,
        directory,
        size,
        precision_name(dtype, quantization),
        seconds_per_1000_tokens(step, gb_s, quantization),
    )


def _weight_bytes(directory: Path) -> int:
    """How many bytes of weights a model folder holds (what ``auto`` quantization goes by)."""
    return sum(
        p.stat().st_size
        for p in directory.iterdir()
        if p.is_file() and p.suffix in {".safetensors", ".bin"}
    )


def _merge_lora(model: Any, adapter: Path) -> Any:
    """The model with a PEFT LoRA adapter folded into its weights, so sampling costs
    what it costs without one."""
    try:
        from peft import PeftModel
    except ImportError:
        raise ModelError("using a LoRA adapter needs peft: pip install 'midicli[train]'") from None
    try:
        return PeftModel.from_pretrained(model, adapter).merge_and_unload()
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        raise ModelError(
            f"cannot apply the adapter {adapter.name} to this model: {first_line(e)}"
        ) from e


def model_hash(name_or_path: str | Path) -> str:
    """A short stable hash of a model's weights and config: the hub commit for a cached
    hub model, else a digest of the files. Never downloads."""
    return _hash_directory(locate(resolve_model(name_or_path), download=False))


def pick_device(device: str | torch.device | None) -> torch.device:
    """The requested device, or the best one present: cuda, then mps, then cpu."""
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        target = torch.device(device)
    except RuntimeError as e:
        raise ModelError(f"unknown device {device!r}: use cpu, cuda, cuda:N or mps") from e
    if target.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"device {device} is not available here: no CUDA GPU (use --device cpu)")
    if target.type == "mps" and not torch.backends.mps.is_available():
        raise ModelError(f"device {device} is not available here (use --device cpu)")
    return target


def pick_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """The requested dtype, or bfloat16 on a GPU and float32 on the CPU (where
    bfloat16 matmuls are slow on many processors)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None or dtype == "auto":
        return torch.float32 if device.type == "cpu" else torch.bfloat16
    if dtype not in _DTYPES:
        raise ModelError(f"unknown dtype {dtype!r}: use bfloat16, float16 or float32")
    return _DTYPES[dtype]


def offline_copy(name_or_path: str | Path) -> Path | None:
    """The local folder of a preset, hub id or folder, found without the network; None
    when a hub model has not been downloaded yet."""
    try:
        directory = locate(resolve_model(name_or_path), download=False)
    except ModelError:
        return None
    return directory if directory.is_dir() else None


def locate(model_id: str, download: bool) -> Path:
    """The local directory holding ``model_id``: itself, or its hub cache snapshot."""
    if Path(model_id).is_absolute():
        return Path(model_id)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    try:
        return Path(
            snapshot_download(model_id, allow_patterns=_HUB_FILES, local_files_only=not download)
        )
    except GatedRepoError as e:
        raise ModelError(
            f"{model_id} is gated: accept its terms on huggingface.co, then run `hf auth login`"
        ) from e
    except RepositoryNotFoundError as e:
        raise ModelError(
            f"no model {model_id} on the Hugging Face hub (private? run `hf auth login`)"
        ) from e
    except HfHubHTTPError as e:
        raise ModelError(f"cannot download {model_id}: {first_line(e)}") from e
    except (LocalEntryNotFoundError, OSError) as e:
        if not download:
            raise ModelError(
                f"{model_id} is not downloaded: pre-download it with `hf download {model_id}`"
            ) from e
        raise ModelError(
            f"cannot download {model_id} (no network?): pass --model PATH to a local copy, "
            f"or pre-download it with `hf download {model_id}`"
        ) from e


def read_config(directory: Path, model_id: str) -> Any:
    if not directory.is_dir():
        raise ModelError(f"{model_id} is not a model directory")
    if not (directory / "config.json").is_file():
        raise ModelError(f"{model_id} is not a model in the MIDI-LLM layout: it has no config.json")
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(directory)
    except (OSError, ValueError, KeyError) as e:
        raise ModelError(f"cannot read {model_id}/config.json: {first_line(e)}") from e


def read_text_vocab_size(config: Any, model_id: str) -> int:
    """From our config key, else everything before the music block."""
    vocab = getattr(config, "vocab_size", None) or 0
    if vocab < MUSIC_VOCAB_SIZE:
        raise ModelError(
            f"{model_id} is not a model in the MIDI-LLM layout: its vocabulary has {vocab:,} ids, "
            f"fewer than the {MUSIC_VOCAB_SIZE:,} music tokens"
        )
    text = getattr(config, TEXT_VOCAB_KEY, None)
    if text is None:
        return vocab - MUSIC_VOCAB_SIZE
    if text + MUSIC_VOCAB_SIZE > vocab:
        raise ModelError(
            f"{model_id}: config says {text:,} text ids, but its vocabulary of {vocab:,} "
            f"has no room for the {MUSIC_VOCAB_SIZE:,} music tokens after them"
        )
    return int(text)


def check_model_files(directory: Path, model_id: str) -> None:
    names = {p.name for p in directory.iterdir()}
    if not names & {"tokenizer.json", "tokenizer.model", "tokenizer_config.json"}:
        raise ModelError(
            f"{model_id} is not a model in the MIDI-LLM layout: it has no text tokenizer"
        )
    check_weights(directory, model_id)


def trust_pickle() -> bool:
    """Whether the user allowed pickled weights (``midicli --trust-pickle``)."""
    return os.environ.get(defaults.TRUST_PICKLE_ENV, "") not in ("", "0")


def check_weights(directory: Path, what: str) -> None:
    """Weights must be safetensors: a pickled file (``pytorch_model.bin``,
    ``adapter_model.bin``) can run any code while it loads, so it is refused unless the
    user trusts its source (``--trust-pickle``)."""
    files = [p for p in directory.iterdir() if p.is_file()]
    if any(p.suffix == ".safetensors" for p in files):
        return
    pickled = sorted(p.name for p in files if p.suffix in _PICKLED)
    if not pickled:
        raise ModelError(f"{what} has no weights (*.safetensors)")
    if not trust_pickle():
        raise ModelError(
            f"{what} has only pickled weights ({pickled[0]}), which can run code as they load: "
            "convert them to "
            "safetensors, or pass `midicli --trust-pickle ...` if you trust where they came from"
        )


def _hash_directory(directory: Path) -> str:
    if directory.parent.name == "snapshots":  # a hub cache snapshot is named by its commit
        return directory.name[:12]
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix in _HASHED_SUFFIXES:
            digest.update(path.name.encode() + b"\0")
            with path.open("rb") as f:
                digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()[:12]
