"""The CPU decoding path: a sort-free nucleus, fused quantized projections, the KV cache
written in place and the written-out Llama step all compute what the plain way computes."""

from __future__ import annotations

import pytest
import torch
from transformers import DynamicCache

from midicli.engines import transformers as engine_module
from midicli.engines.base import Request, SamplingParams
from midicli.engines.kv_cache import preallocated_cache
from midicli.engines.models import load_model
from midicli.engines.quantize import ProjectionPart, quantize_layers
from midicli.engines.transformers import TransformersEngine, _nucleus
from midicli.generation.prompt import build_prompt, text_ids
from midicli.tokenizers.vocab import NOTE_OFFSET


def sorted_nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """The nucleus by its definition: sort, keep ids until the mass before them reaches top_p."""
    ranked, order = probs.sort(dim=-1, descending=True)
    kept = ranked.cumsum(dim=-1) - ranked < top_p
    return torch.zeros_like(kept).scatter(1, order, kept) & (probs > 0)


@pytest.mark.parametrize("spread", [0.01, 0.3, 1.0, 4.0, 12.0])
@pytest.mark.parametrize("top_p", [0.5, 0.9, 0.98])
def test_the_nucleus_found_without_sorting_is_the_sorted_one(spread, top_p) -> None:
    generator = torch.Generator().manual_seed(int(spread * 100) + int(top_p * 100))
    logits = torch.randn(3, 55_031, generator=generator) * spread
    logits[:, -7:] = float("-inf")  # ids the grammar forbids are never in it
    probs = logits.softmax(dim=-1)
    assert torch.equal(_nucleus(probs, top_p), sorted_nucleus(probs, top_p))


def test_sampling_from_a_wide_nucleus_follows_its_probabilities() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.linspace(0, 1, 600).log().unsqueeze(0)  # wider than the sorted first guess
    picked = engine_module._sample_top_p(logits.repeat(20_000, 1), 1.0, 0.5, generator)
    probs = logits.softmax(-1)[0]
    nucleus = sorted_nucleus(probs[None], 0.5)[0]
    assert nucleus[picked].all()
    expected = probs[nucleus] / probs[nucleus].sum()
    counts = torch.bincount(picked, minlength=600)[nucleus].float() / len(picked)
    assert (counts - expected).abs().max() < 0.004


def test_fused_projections_give_each_projection_its_own_output() -> None:
    torch.manual_seed(0)
    attention = torch.nn.Module()
    for name, rows in (("q_proj", 64), ("k_proj", 16), ("v_proj", 16)):
        setattr(attention, name, torch.nn.Linear(64, rows, bias=False))
    model = torch.nn.Module()
    model.attention = attention
    model.get_output_embeddings = lambda: None
    plain = {name: getattr(attention, name) for name in ("q_proj", "k_proj", "v_proj")}
    x = torch.randn(2, 3, 64)
    expected = {name: layer(x) for name, layer in plain.items()}
    assert quantize_layers(model, "int8") == 3
    assert all(isinstance(getattr(attention, name), ProjectionPart) for name in plain)
    for name in ("v_proj", "q_proj", "k_proj"):  # any order
        got = getattr(attention, name)(x)
        assert (got - expected[name]).norm() / expected[name].norm() < 0.02
    assert attention.q_proj.fused._parts == ()  # nothing kept once every part was taken
    again = attention.q_proj(x)  # a part asked twice computes again
    assert (again - expected["q_proj"]).norm() / expected["q_proj"].norm() < 0.02


@pytest.fixture(scope="module")
def mini_engine() -> TransformersEngine:
    return TransformersEngine(load_model("mini", device="cpu"))


def request(engine: TransformersEngine, n: int = 3, tokens: int = 120) -> Request:
    ids = build_prompt(
        text_ids(engine.tokenizer, "A folk dance for fiddle"), engine.text_vocab_size
    )
    return Request(
        ids, SamplingParams(n=n, temperature=1.0, top_p=0.98, max_new_tokens=tokens, seed=4)
    )


def test_the_cache_written_in_place_samples_what_transformers_cache_samples(
    mini_engine, monkeypatch
) -> None:
    ours = [c.token_ids for c in mini_engine.generate(request(mini_engine))]
    monkeypatch.setattr(
        engine_module, "preallocated_cache", lambda config, _: DynamicCache(config=config)
    )
    monkeypatch.setattr(mini_engine, "_llama_step", None)  # it writes only into ours
    assert [c.token_ids for c in mini_engine.generate(request(mini_engine))] == ours


def test_the_llama_step_gives_transformers_logits_and_grows_the_cache_alike(mini_engine) -> None:
    step = mini_engine._llama_step
    assert step is not None  # mini is a plain Llama on the CPU
    prompt = torch.tensor([request(mini_engine).prompt_ids])
    caches = [preallocated_cache(mini_engine.model.config, 64) for _ in range(2)]
    with torch.inference_mode():
        for cache in caches:
            mini_engine._decoder(input_ids=prompt, use_cache=True, past_key_values=cache)
            cache.batch_repeat_interleave(3)
        for position in range(12):
            if position == 6:  # a finished row leaves the batch
                for cache in caches:
                    cache.batch_select_indices(torch.tensor([0, 2]))
            rows = 3 if position < 6 else 2
            tokens = torch.full(
                (rows, 1), mini_engine.text_vocab_size + NOTE_OFFSET + 60 + position
            )
            ours = mini_engine._head(step(tokens, caches[0]))
            out = mini_engine._decoder(input_ids=tokens, use_cache=True, past_key_values=caches[1])
            theirs = mini_engine._head(out.last_hidden_state[:, -1])
            torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-4)
    assert caches[0].get_seq_length() == caches[1].get_seq_length() == prompt.shape[1] + 12
