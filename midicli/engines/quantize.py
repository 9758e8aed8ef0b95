"""Quantized linear layers for sampling on a CPU: int8 weights and activations, or
int4 weights.

Decoding one token reads every weight once, so on a CPU tokens/s is memory bandwidth
divided by weight bytes: int8 halves what bfloat16 reads, int4 quarters it.

Why PyTorch's own kernels rather than a quantization library, measured here (torch 2.13
CPU, one thread, one token through 24 different 2048→8192 layers so that weights stream
from memory as in decoding): bfloat16 2.7 ms a layer; int8 as fbgemm's dynamic
quantization (``quantized::linear_dynamic``: int8 weights, each call's activations
quantized to 8 bits, VNNI integer dot products) 1.35 ms; the int8 weight-only kernel
(``aten._weight_int8pack_mm``, bfloat16 activations, what midicli used before) 2.2 ms;
int4 (``aten._weight_int4pack_mm_for_cpu``) 1.2 ms. torchao 0.18's ``Int8WeightOnlyConfig``
took 23.6 ms (it dequantizes the whole weight on a CPU each call), and its int4 layouts
need CUDA-only kernels (mslk). What transformers supports natively (``TorchAoConfig``,
``QuantoConfig``, bitsandbytes, HQQ) is each a wrapper over one of those libraries, an
extra dependency with the same CPU kernels or slower ones. These kernels ship with
torch, so quantizing needs nothing more to install, and loads offline from the
bfloat16 weights in seconds.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from midicli.errors import ModelError
from midicli.tokenizers.vocab import MUSIC_VOCAB_SIZE

Quantization = Literal["none", "int8", "int4"]
CHOICES = ("none", "int8", "int4", "auto")
INT4_GROUP = 32
"""Weights per int4 scale and offset. Groups of 32 rather than 128 cost the kernel no
time (1.19 vs 1.20 ms a 2048→8192 layer) and make int4 mini pick bfloat16's most likely
next token on 93 % of real positions instead of 89 %."""
AUTO_MIN_BYTES = 400_000_000
"""Below this size of weight files a model's weights sit in the CPU's caches and decoding is
bound by per-layer overhead, not bytes read: ``auto`` leaves it unquantized (the bundled mini)."""


def resolve(quantize: str | None, device: torch.device, weight_bytes: int) -> Quantization:
    """The quantization to use. ``auto`` (and None): int8 on a CPU for a model large
    enough to be bound by memory bandwidth, else none; GPUs keep their dtype (and
    vLLM's fp8). int8 is both the fastest on the 1b shape (18.2 tokens/s on 2 cores
    against int4's 14.7 and bfloat16's 8.0, BENCHMARKS.md) and faithful: on 924
    positions of three real pieces, int8 mini picks bfloat16 mini's most likely next
    token on 98 % of them (bfloat16 itself agrees with float32 on 98 %), int4 on 93 %
    with ~10x the KL (tests/engines/test_quantize.py)."""
    choice = quantize or "auto"
    if choice not in CHOICES:
        raise ModelError(f"unknown quantization {quantize!r}: use {', '.join(CHOICES)}")
    if choice == "auto":
        large = device.type == "cpu" and weight_bytes >= AUTO_MIN_BYTES
        return "int8" if large and int8_kernels_here() else "none"
    if choice != "none" and device.type != "cpu":
        raise ModelError(
            f"--quantize {choice} runs on the CPU only: on {device.type}, use --dtype (or vLLM's "
            "--fp8)"
        )
    if choice == "int8" and not int8_kernels_here():
        raise ModelError(
            "--quantize int8 needs PyTorch's x86 quantized kernels (fbgemm), which this build "
            "lacks: use --quantize int4 or none"
        )
    return choice  # type: ignore[return-value]


def int8_kernels_here() -> bool:
    """Whether this PyTorch build has fbgemm's int8 kernels (x86 builds do; ARM builds,
    such as a Mac's, have other quantized engines, untested with these layers)."""
    return bool({"x86", "fbgemm"} & set(torch.backends.quantized.supported_engines))


@functools.cache
def _full_range_activations() -> bool:
    """Whether activations may use all 8 bits: on CPUs with VNNI integer dot products;
    without, fbgemm's 16-bit intermediate sums could saturate, so they keep 7."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


class Int8Linear(nn.Module):
    """y = x W^T + b with W stored as int8, one scale per output row (symmetric), and x
    quantized to 8 bits on each call (fbgemm's dynamic quantization)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        w = weight.detach().float()
        scale = (w.abs().amax(dim=1) / 127).clamp(min=1e-12).double()
        with (
            warnings.catch_warnings()
        ):  # torch 2.13 marks quantized tensors deprecated; midicli pins it
            warnings.simplefilter("ignore", UserWarning)
            codes = torch.quantize_per_channel(
                w, scale, torch.zeros_like(scale, dtype=torch.long), 0, torch.qint8
            )
        self._packed = torch.ops.quantized.linear_prepack(
            codes, None if bias is None else bias.detach().float()
        )
        self.out_features, self.in_features = weight.shape
        self.nbytes = w.numel() + 4 * self.out_features * (
            2 if bias is None else 3
        )  # codes, scales, zero points, bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).float()
        y = torch.ops.quantized.linear_dynamic(flat, self._packed, not _full_range_activations())
        return y.reshape(*x.shape[:-1], self.out_features).to(x.dtype)


class Int4Linear(nn.Module):
    """y = x W^T + b with W stored as 4-bit codes, one scale and offset per group of
    ``group`` input weights (asymmetric), packed for PyTorch's CPU int4 kernel."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, group: int) -> None:
        super().__init__()
        out_features, in_features = weight.shape
        rows = -out_features % 16  # the kernel packs output rows in blocks: pad with zeros
        w = nn.functional.pad(weight.detach().float(), (0, 0, 0, rows))
        w = w.reshape(out_features + rows, in_features // group, group)
        low, high = w.amin(dim=-1, keepdim=True), w.amax(dim=-1, keepdim=True)
        scale = ((high - low) / 15).clamp(min=1e-12)
        codes = (
            torch.round((w - low) / scale)
            .clamp(0, 15)
            .to(torch.int32)
            .reshape(out_features + rows, in_features)
        )
        zero = low + 8 * scale  # the kernel computes (code - 8) * scale + zero
        scales_zeros = torch.stack(
            [scale.squeeze(-1).t(), zero.squeeze(-1).t()], dim=-1
        ).contiguous()
        self.register_buffer(
            "weight_int4", torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes, 1)
        )
        self.register_buffer("scales_zeros", scales_zeros.to(weight.dtype))
        self.bias = None if bias is None else nn.Parameter(bias.detach(), requires_grad=False)
        self.group, self.out_features, self.in_features = group, out_features, in_features
        self.nbytes = sum(
            t.numel() * t.element_size() for t in (*self.buffers(), *self.parameters())
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).to(self.scales_zeros.dtype).contiguous()
        y = torch.ops.aten._weight_int4pack_mm_for_cpu(
            flat, self.weight_int4, self.group, self.scales_zeros
        )
        y = y[:, : self.out_features]
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features).to(x.dtype)


def quantized_linear(
    weight: torch.Tensor, bias: torch.Tensor | None, quantization: Quantization
) -> nn.Module | None:
    """A quantized layer for ``weight`` (out × in), or None where the layer's shape does
    not suit the kernel (it then stays as it is)."""
    if quantization == "int8":
        return Int8Linear(weight, bias)
    if quantization == "int4" and weight.shape[1] % INT4_GROUP == 0:
        return Int4Linear(weight, bias, INT4_GROUP)
    return None


FUSED_GROUPS = (("q_proj", "k_proj", "v_proj"), ("gate_proj", "up_proj"))
"""Sibling projections (Llama-family names) that read the same input: quantized, each group
is one layer, since a small layer's call costs as much as streaming its weights (a
512×2048 int8 layer moves 15 GB/s, a 16384×2048 one 25 GB/s on 2 cores)."""


class FusedProjection:
    """One quantized layer computing several sibling projections of the same input; each
    sibling's :class:`ProjectionPart` takes its columns of the one product.

    The product is kept only until every part has taken its columns (a prompt's would
    otherwise stay in memory), and is recomputed if a part is called on another input."""

    def __init__(self, layer: nn.Module, widths: list[int]) -> None:
        self.layer, self.widths = layer, widths
        self._input: torch.Tensor | None = None
        self._parts: tuple[torch.Tensor, ...] = ()
        self._waiting: set[int] = set()

    def part(self, index: int, x: torch.Tensor) -> torch.Tensor:
        if x is not self._input or index not in self._waiting:
            self._parts = self.layer(x).split(self.widths, dim=-1)
            self._input, self._waiting = x, set(range(len(self.widths)))
        self._waiting.discard(index)
        out = self._parts[index].contiguous()
        if not self._waiting:
            self._input, self._parts = None, ()
        return out


class ProjectionPart(nn.Module):
    """A projection computed inside a :class:`FusedProjection` (it holds the weights once)."""

    def __init__(self, fused: FusedProjection, index: int) -> None:
        super().__init__()
        self.fused, self.index = fused, index
        self.in_features = getattr(fused.layer, "in_features", None)
        self.out_features = fused.widths[index]
        share = self.out_features / sum(fused.widths)
        self.nbytes = round(getattr(fused.layer, "nbytes", 0) * share)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fused.part(self.index, x)


def quantize_layers(model: Any, quantization: Quantization) -> int:
    """Replace, in place, every linear layer of the transformer blocks (not the output
    head: the engine builds its own music head) by its quantized form, sibling projections
    of one input (:data:`FUSED_GROUPS`) as one layer; how many layers were replaced."""
    if quantization == "none":
        return 0
    head = model.get_output_embeddings()
    replaced = 0
    for parent in list(model.modules()):
        linear = {
            name: child
            for name, child in parent.named_children()
            if type(child) is nn.Linear and child is not head
        }
        for names in FUSED_GROUPS:
            group = [linear.get(name) for name in names]
            if None in group or len({(g.in_features, g.bias is None) for g in group}) > 1:
                continue
            weight = torch.cat([g.weight.detach() for g in group])
            bias = None if group[0].bias is None else torch.cat([g.bias.detach() for g in group])
            layer = quantized_linear(weight, bias, quantization)
            if layer is None:
                continue
            fused = FusedProjection(layer, [g.out_features for g in group])
            for index, name in enumerate(names):
                setattr(parent, name, ProjectionPart(fused, index))
                del linear[name]
                replaced += 1
        for name, child in linear.items():
            layer = quantized_linear(child.weight, child.bias, quantization)
            if layer is not None:
                setattr(parent, name, layer)
                replaced += 1
    return replaced


STEP_OVERHEAD_S = 0.004
"""Per-token cost that is not reading weights (Python, sampling, small kernels): the
tiny scaffold's step on a 2-core CPU (bench/cpu.py)."""
ROOFLINE_SHARE = {"none": 0.63, "int8": 0.71, "int4": 0.37}
"""Share of the memory roofline the engine reaches on the 1b shape, 2 threads
(bench/cpu.py): int8's integer kernel streams weights nearly as fast as memory gives
them; the int4 kernel is bound by unpacking them."""
_BYTES_PER_WEIGHT = {
    "int8": 1.0,
    "int4": 0.5 + 4 / INT4_GROUP,
}  # int4: a 2-byte scale and offset per group


def step_bytes(config: Any, quantization: Quantization, dtype_bytes: int) -> int:
    """Weight bytes one decoding step of our engine reads, from a Llama-style config:
    the attention and MLP weights of every block and the music rows of the head."""
    hidden = config.hidden_size
    head_dim = getattr(config, "head_dim", None) or hidden // config.num_attention_heads
    attention = (
        2 * hidden * config.num_attention_heads * head_dim
        + 2 * hidden * config.num_key_value_heads * head_dim
    )
    blocks = config.num_hidden_layers * (attention + 3 * hidden * config.intermediate_size)
    head = (MUSIC_VOCAB_SIZE + 1) * hidden
    return int((blocks + head) * _BYTES_PER_WEIGHT.get(quantization, dtype_bytes))


def bandwidth_gb_s(megabytes: int = 256) -> float:
    """This machine's memory bandwidth, GB/s: bytes read and written by the faster of two
    copies of a tensor larger than the CPU's caches."""
    import time

    source = torch.ones(megabytes * 2**20 // 4)
    target = torch.empty_like(source)
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        target.copy_(source)
        best = min(best, time.perf_counter() - start)
    return 2 * source.numel() * 4 / best / 1e9


def seconds_per_1000_tokens(step: int, gb_s: float, quantization: Quantization) -> float:
    """Expected decoding time for 1,000 tokens: the weight bytes at the share of the
    memory roofline the engine reaches, plus the per-step overhead."""
    return 1000 * (step / (gb_s * 1e9 * ROOFLINE_SHARE[quantization]) + STEP_OVERHEAD_S)
