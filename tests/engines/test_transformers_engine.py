"""Composing with the in-process engine: n candidates, reproducible seeds, the grammar obeyed."""

from __future__ import annotations

import warnings

import pytest
import torch

from midicli.engines.base import Request, SamplingParams
from midicli.engines.constraints import check_sequence
from midicli.engines.models import LoadedModel, load_model
from midicli.engines.transformers import TransformersEngine, _sample_top_p
from midicli.errors import GenerationError
from midicli.tokenizers.amt_generation import Grammar, GrammarSpec
from midicli.tokenizers.vocab import (
    ADUR_OFFSET,
    ANOTE_OFFSET,
    ATIME_OFFSET,
    AUTOREGRESS,
    DUR_OFFSET,
    MUSIC_VOCAB_SIZE,
    NOTE_OFFSET,
    TIME_OFFSET,
)


@pytest.fixture(scope="module")
def engine(tiny_model: LoadedModel) -> TransformersEngine:
    return TransformersEngine(tiny_model)


def prompt(engine: TransformersEngine, words: str = "A calm waltz for piano") -> list[int]:
    return engine.tokenizer(words + " ").input_ids + [engine.text_vocab_size + AUTOREGRESS]


def music(engine: TransformersEngine, ids: list[int]) -> list[int]:
    return [t - engine.text_vocab_size for t in ids]


def test_n_candidates_of_music_tokens_only(engine) -> None:
    completions = engine.generate(
        Request(prompt(engine), SamplingParams(n=3, max_new_tokens=40, seed=0))
    )
    assert len(completions) == 3
    for completion in completions:
        assert completion.finish_reason == "length"
        assert len(completion.token_ids) == 40
        assert all(0 <= t < MUSIC_VOCAB_SIZE for t in music(engine, completion.token_ids))
    assert len({tuple(c.token_ids) for c in completions}) == 3


def test_composing_prints_no_deprecation_warnings(
    engine, capfd: pytest.CaptureFixture[str]
) -> None:
    """The KV cache goes to the model under the name its transformers version expects
    (``cache`` from 5.20 on), so the quick start shows music, not FutureWarnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        engine.generate(
            Request(prompt(engine), SamplingParams(n=2, max_new_tokens=12, seed=0), GrammarSpec())
        )
    assert [
        str(w.message)
        for w in caught
        if issubclass(w.category, (FutureWarning, DeprecationWarning))
    ] == []
    assert "deprecated" not in capfd.readouterr().err


def test_the_same_seed_gives_the_same_pieces_and_another_seed_others(engine) -> None:
    def run(seed: int) -> list[list[int]]:
        request = Request(
            prompt(engine), SamplingParams(n=2, max_new_tokens=30, seed=seed), GrammarSpec()
        )
        return [c.token_ids for c in engine.generate(request)]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_every_candidate_obeys_the_grammar(engine) -> None:
    spec = GrammarSpec(instruments=frozenset({0, 128}), max_onsets_per_instant=3)
    completions = engine.generate(
        Request(prompt(engine), SamplingParams(n=4, max_new_tokens=90, seed=3), spec)
    )
    for completion in completions:
        tokens = music(engine, completion.token_ids)
        assert check_sequence(spec, tokens) is None
        notes = [t for t in tokens if NOTE_OFFSET <= t < NOTE_OFFSET + 129 * 128]
        assert {(t - NOTE_OFFSET) // 128 for t in notes} <= {0, 128}
        times = [t for t in tokens if TIME_OFFSET <= t < DUR_OFFSET]
        assert times == sorted(times)


def test_controls_are_injected_where_the_grammar_wants_them(engine) -> None:
    first = (ATIME_OFFSET + 0, ADUR_OFFSET + 50, ANOTE_OFFSET + 60)  # piano C4 at 0 s
    second = (ATIME_OFFSET + 600, ADUR_OFFSET + 50, ANOTE_OFFSET + 128 * 40 + 67)  # violin at 6 s
    spec = GrammarSpec(controls=first + second)
    completions = engine.generate(
        Request(prompt(engine), SamplingParams(n=2, max_new_tokens=150, seed=1), spec)
    )
    for completion in completions:
        tokens = music(engine, completion.token_ids)
        assert tokens[:3] == list(first)  # due at once: 0 s is within delta of the start
        replay = Grammar(spec)
        for token in tokens:
            forced = replay.forced()
            assert forced is None or token == forced
            replay.advance(token)
        assert [t for t in tokens if t >= ATIME_OFFSET] == list(first + second)


def test_finished_candidates_stop_while_the_others_go_on(engine) -> None:
    spec = GrammarSpec(stop_time=4000)
    seen: dict[int, list[int]] = {}
    completions = engine.generate(
        Request(prompt(engine), SamplingParams(n=4, max_new_tokens=200, seed=2), spec),
        progress=lambda row, token: seen.setdefault(row, []).append(token),
    )
    for row, completion in enumerate(completions):
        assert completion.finish_reason == "stop"
        assert len(completion.token_ids) < 200
        assert engine.eos_id not in completion.token_ids
        last_time = completion.token_ids[-1] - engine.text_vocab_size
        assert 4000 <= last_time < DUR_OFFSET  # the TIME past the stop ends the candidate
        assert seen[row] == completion.token_ids
    assert len({len(c.token_ids) for c in completions}) > 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n": 0}, "number of candidates"),
        ({"temperature": 0.0}, "temperature"),
        ({"top_p": 0.0}, "top-p"),
        ({"top_p": 1.5}, "top-p"),
        ({"max_new_tokens": 0}, "max new tokens"),
        ({"max_new_tokens": 200_000}, "context"),
    ],
)
def test_bad_sampling_parameters_are_refused(engine, change, message) -> None:
    with pytest.raises(GenerationError, match=message):
        engine.generate(Request(prompt(engine), SamplingParams(**change)))


@pytest.mark.parametrize("ids", [[], [-1], [10**6]])
def test_prompts_outside_the_vocabulary_are_refused(engine, ids) -> None:
    with pytest.raises(GenerationError, match="prompt"):
        engine.generate(Request(ids, SamplingParams(max_new_tokens=5)))


def test_a_grammar_that_allows_no_instrument_is_refused(engine) -> None:
    piano = (ATIME_OFFSET, ADUR_OFFSET + 10, ANOTE_OFFSET + 60)
    spec = GrammarSpec(controls=piano, instruments=frozenset({40}), max_instruments=1)
    with pytest.raises(GenerationError, match="no instrument"):
        engine.generate(Request(prompt(engine), SamplingParams(max_new_tokens=5), spec))


def test_top_p_keeps_only_the_nucleus() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05, 0.0]])).repeat(500, 1)
    assert set(_sample_top_p(logits, 1.0, 0.8, generator).tolist()) == {0, 1}
    assert set(_sample_top_p(logits, 1.0, 1.0, generator).tolist()) == {
        0,
        1,
        2,
        3,
    }  # masked id never

    flat = torch.zeros(200, 1000)  # nucleus wider than the first guess: the full sort path
    picked = _sample_top_p(flat, 1.0, 0.5, generator)
    assert picked.max() < 1000 and len(set(picked.tolist())) > 100


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_the_engine_runs_in_bfloat16_and_stays_reproducible(tiny_model_dir) -> None:
    loaded = load_model(tiny_model_dir)
    assert (loaded.device.type, loaded.dtype) == ("cuda", torch.bfloat16)
    gpu = TransformersEngine(loaded)
    request = Request(prompt(gpu), SamplingParams(n=4, max_new_tokens=100, seed=0), GrammarSpec())
    first = gpu.generate(request)
    assert [c.token_ids for c in gpu.generate(request)] == [c.token_ids for c in first]
    assert all(check_sequence(GrammarSpec(), music(gpu, c.token_ids)) is None for c in first)


def full_head_logits(engine: TransformersEngine, ids: list[int]) -> torch.Tensor:
    """The full output layer's logits at the last position, music ids then the end id."""
    with torch.inference_mode():
        logits = engine.model(input_ids=torch.tensor([ids])).logits[0, -1].float()
    return torch.cat(
        [
            logits[engine.text_vocab_size : engine.text_vocab_size + MUSIC_VOCAB_SIZE],
            logits[[engine.eos_id]],
        ]
    )


@pytest.mark.parametrize("name", ["tiny", "mini"])
def test_the_music_head_gives_the_full_heads_logits_over_the_ids_we_sample(
    name, tiny_model
) -> None:
    engine = TransformersEngine(tiny_model if name == "tiny" else load_model("mini", device="cpu"))
    ids = prompt(engine) + [
        engine.text_vocab_size + t for t in (TIME_OFFSET, DUR_OFFSET + 10, NOTE_OFFSET + 60)
    ]
    with torch.inference_mode():
        hidden = engine.model.get_decoder()(input_ids=torch.tensor([ids])).last_hidden_state[:, -1]
        narrowed = engine._head(hidden)[0]
    assert narrowed.shape == (MUSIC_VOCAB_SIZE + 1,)
    torch.testing.assert_close(narrowed, full_head_logits(engine, ids), rtol=0, atol=1e-5)


def test_mini_samples_the_same_ids_through_the_music_head_as_through_the_full_head() -> None:
    engine = TransformersEngine(load_model("mini", device="cpu"))
    request = Request(
        prompt(engine), SamplingParams(n=1, max_new_tokens=30, seed=3, temperature=1.0, top_p=0.98)
    )
    generator = torch.Generator().manual_seed(3)
    ids = prompt(engine)
    for _ in range(
        30
    ):  # the same draws over the full head's logits, recomputed from scratch each step
        logits = full_head_logits(engine, ids)[None]
        logits[:, MUSIC_VOCAB_SIZE:] = float("-inf")
        ids.append(engine.text_vocab_size + int(_sample_top_p(logits, 1.0, 0.98, generator)))
    assert engine.generate(request)[0].token_ids == ids[len(prompt(engine)) :]


def test_a_head_that_is_more_than_a_linear_map_is_kept_whole_and_narrowed_after(
    tiny_model_dir,
) -> None:
    from midicli.engines.transformers import MusicHead

    loaded = load_model(tiny_model_dir, device="cpu")
    plain = MusicHead(loaded.model, loaded.text_vocab_size, loaded.eos_id, "none")
    loaded.model.config.final_logit_softcapping = 30.0  # as Gemma-style heads say
    whole = MusicHead(loaded.model, loaded.text_vocab_size, loaded.eos_id, "none")
    hidden = torch.randn(2, loaded.model.config.hidden_size)
    with torch.inference_mode():
        torch.testing.assert_close(whole(hidden), plain(hidden), rtol=0, atol=1e-5)
    assert whole.bytes_read() > plain.bytes_read()  # it reads the text rows too
