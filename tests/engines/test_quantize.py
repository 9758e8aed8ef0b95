"""CPU quantization (int8, int4): faithful to bfloat16 on real music, chosen by size on a CPU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from midicli.engines.models import load_model
from midicli.engines.quantize import Int4Linear, Int8Linear, quantized_linear, resolve
from midicli.engines.transformers import TransformersEngine
from midicli.errors import ModelError
from midicli.tokenizers.vocab import AUTOREGRESS, MUSIC_VOCAB_SIZE

PIECES = Path(__file__).parents[1] / "data" / "amt"
CPU = torch.device("cpu")


def real_sequences(engine: TransformersEngine, tokens_each: int = 300) -> list[list[int]]:
    """Three real pieces (AMT tokens of tests/data/amt) after a text prompt, as the model sees
    them."""
    words = engine.tokenizer("A piece for piano ").input_ids + [
        engine.text_vocab_size + AUTOREGRESS
    ]
    names = ["bach_bwv66_6", "joplin_maple_leaf", "strawberry"]
    pieces = [
        json.loads((PIECES / f"{name}.tokens.json").read_text())[:tokens_each] for name in names
    ]
    return [words + [engine.text_vocab_size + t for t in piece] for piece in pieces]


def next_token_logits(engine: TransformersEngine, ids: list[int]) -> torch.Tensor:
    """The music head's logits after every music position of ``ids`` (positions × music ids)."""
    with torch.inference_mode():
        hidden = engine.model.get_decoder()(input_ids=torch.tensor([ids])).last_hidden_state[0]
        return engine._head(hidden)[:, :MUSIC_VOCAB_SIZE]


def agreement(reference: TransformersEngine, other: TransformersEngine) -> tuple[float, float]:
    """Share of positions where both pick the same most likely next token, and the mean
    KL divergence (nats) of ``other``'s next-token distribution from ``reference``'s."""
    same = total = 0
    kl = 0.0
    for ids in real_sequences(reference):
        p, q = next_token_logits(reference, ids), next_token_logits(other, ids)
        same += int((p.argmax(-1) == q.argmax(-1)).sum())
        total += p.shape[0]
        kl += float(
            torch.nn.functional.kl_div(
                q.log_softmax(-1), p.log_softmax(-1), log_target=True, reduction="sum"
            )
        )
    return same / total, kl / total


@pytest.fixture(scope="module")
def bf16_mini() -> TransformersEngine:
    return TransformersEngine(load_model("mini", device="cpu", dtype="bfloat16", quantize="none"))


# measured: int8 97.8 % (97.1 % where fbgemm keeps activations to 7 bits: CPUs without
# VNNI), int4 93.3 %; 924 positions put about ±1 point on each
@pytest.mark.parametrize(("quantization", "bound"), [("int8", 0.96), ("int4", 0.9)])
def test_quantized_mini_picks_the_same_next_token_as_bfloat16_on_real_music(
    bf16_mini, quantization, bound
) -> None:
    quantized = TransformersEngine(
        load_model("mini", device="cpu", dtype="bfloat16", quantize=quantization)
    )
    assert quantized.precision == f"{quantization} weights, bfloat16"
    top1, _ = agreement(bf16_mini, quantized)
    assert top1 >= bound


@pytest.mark.parametrize(
    ("asked", "device", "weight_bytes", "chosen"),
    [
        (
            "auto",
            CPU,
            2_900_000_000,
            "int8",
        ),  # MIDI-LLM's size on a CPU: memory bound, int8 reads half the bytes
        (None, CPU, 2_900_000_000, "int8"),
        ("auto", CPU, 15_000_000, "none"),  # mini: fits in cache, left as it is
        ("auto", torch.device("cuda"), 2_900_000_000, "none"),  # GPUs keep bf16 (or vLLM's fp8)
        ("int4", CPU, 15_000_000, "int4"),
    ],
)
def test_auto_quantizes_only_large_models_on_a_cpu(asked, device, weight_bytes, chosen) -> None:
    assert resolve(asked, device, weight_bytes) == chosen


def test_without_fbgemm_auto_leaves_the_model_alone_and_int8_is_refused(monkeypatch) -> None:
    # an ARM build of PyTorch (a Mac's) cannot exist on this x86 machine: pretend to be one
    monkeypatch.setattr("midicli.engines.quantize.int8_kernels_here", lambda: False)
    assert resolve("auto", CPU, 2_900_000_000) == "none"
    assert resolve("int4", CPU, 2_900_000_000) == "int4"
    with pytest.raises(ModelError, match="fbgemm"):
        resolve("int8", CPU, 2_900_000_000)


@pytest.mark.parametrize(
    ("asked", "words"), [("int3", "unknown quantization"), ("int8@cuda", "CPU only")]
)
def test_impossible_quantizations_are_refused(asked, words) -> None:
    quantize, _, device = asked.partition("@")
    with pytest.raises(ModelError, match=words):
        resolve(quantize, torch.device(device or "cpu"), 0)


@pytest.mark.parametrize(
    ("quantization", "kind", "tolerance"), [("int8", Int8Linear, 0.02), ("int4", Int4Linear, 0.1)]
)
def test_a_quantized_layer_computes_what_the_layer_did(quantization, kind, tolerance) -> None:
    torch.manual_seed(0)
    layer = torch.nn.Linear(256, 100).to(torch.bfloat16)  # 100 rows: int4 pads them for its kernel
    quantized = quantized_linear(layer.weight, layer.bias, quantization)
    assert isinstance(quantized, kind)
    for tokens in (1, 5, 40):  # decoding steps and a long prompt
        x = torch.randn(3, tokens, 256, dtype=torch.bfloat16)
        expected, got = layer(x).float(), quantized(x).float()
        assert got.shape == expected.shape
        assert (got - expected).norm() / expected.norm() < tolerance
