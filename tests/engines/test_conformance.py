"""Every engine keeps the same promises: the same tests, run against transformers,
vLLM in this process, a vLLM server with the grammar processor, and a stock vLLM
server (grammar checked and resampled on the client). Engines start once per session.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import AMT_FIXTURES

from midicli.engines.base import Request, SamplingParams
from midicli.engines.constraints import check_sequence
from midicli.errors import GenerationError
from midicli.generation import operations
from midicli.project import Project
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

pytestmark = pytest.mark.slow

ENGINE_FIXTURES = {
    "transformers": "transformers_engine",
    "vllm": "vllm_engine",
    "server": "server_engine",
    "server-fallback": "fallback_engine",
}
LONG = AMT_FIXTURES / "strawberry.mid"  # 270 s, 13 instruments
SHORT = AMT_FIXTURES / "bach_bwv66_6.mid"


@pytest.fixture(params=list(ENGINE_FIXTURES))
def engine(request: pytest.FixtureRequest):
    return request.getfixturevalue(ENGINE_FIXTURES[request.param])


@pytest.fixture
def project(tmp_path: Path):
    with Project.init(tmp_path / "songs") as project:
        yield project


def prompt(engine, words: str = "A calm waltz for piano") -> list[int]:
    return engine.tokenizer(words + " ").input_ids + [engine.text_vocab_size + AUTOREGRESS]


def music(engine, ids: list[int]) -> list[int]:
    return [t - engine.text_vocab_size for t in ids]


def test_without_a_grammar_only_music_is_sampled_to_the_full_length(engine) -> None:
    completions = engine.generate(
        Request(prompt(engine), SamplingParams(n=3, max_new_tokens=40, seed=0))
    )
    assert [(len(c.token_ids), c.finish_reason) for c in completions] == [(40, "length")] * 3
    assert all(0 <= t < MUSIC_VOCAB_SIZE for c in completions for t in music(engine, c.token_ids))
    assert len({tuple(c.token_ids) for c in completions}) == 3


def test_every_candidate_obeys_the_grammar(engine) -> None:
    spec = GrammarSpec(instruments=frozenset({0, 128}), max_onsets_per_instant=3)
    completions = engine.generate(
        Request(prompt(engine), SamplingParams(n=4, max_new_tokens=60, seed=3), spec)
    )
    assert len(completions) == 4
    for completion in completions:
        tokens = music(engine, completion.token_ids)
        assert 0 < len(tokens) <= 60 and check_sequence(spec, tokens) is None
        assert {(t - NOTE_OFFSET) // 128 for t in tokens if NOTE_OFFSET <= t < ATIME_OFFSET} <= {
            0,
            128,
        }
        times = [t for t in tokens if TIME_OFFSET <= t < DUR_OFFSET]
        assert times == sorted(times)


def test_controls_are_forced_where_the_grammar_wants_them(engine) -> None:
    first = (ATIME_OFFSET + 0, ADUR_OFFSET + 50, ANOTE_OFFSET + 60)  # piano C4 at 0 s
    second = (ATIME_OFFSET + 600, ADUR_OFFSET + 50, ANOTE_OFFSET + 128 * 40 + 67)  # violin at 6 s
    spec = GrammarSpec(controls=first + second, max_onsets_per_instant=2)
    completions = engine.generate(
        Request(prompt(engine), SamplingParams(n=2, max_new_tokens=60, seed=1), spec)
    )
    for completion in completions:
        tokens = music(engine, completion.token_ids)
        assert tokens[:3] == list(first)
        replay = Grammar(spec)
        for token in tokens:
            assert replay.forced() in (None, token)
            replay.advance(token)


def test_a_finished_grammar_ends_the_candidate_on_its_time_token(engine) -> None:
    spec = GrammarSpec(stop_time=4000)
    completions = engine.generate(
        Request(prompt(engine), SamplingParams(n=4, max_new_tokens=200, seed=2), spec)
    )
    for completion in completions:
        assert completion.finish_reason == "stop" and len(completion.token_ids) < 200
        assert 4000 <= music(engine, completion.token_ids)[-1] < DUR_OFFSET


def test_the_same_seed_gives_the_same_ids_and_another_seed_others(engine) -> None:
    def run(seed: int) -> list[list[int]]:
        request = Request(
            prompt(engine), SamplingParams(n=2, max_new_tokens=30, seed=seed), GrammarSpec()
        )
        return [c.token_ids for c in engine.generate(request)]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_compose_stores_n_pieces_made_by_this_engine(engine, project) -> None:
    created = operations.compose(
        project, engine, "A calm piano waltz", SamplingParams(n=3, max_new_tokens=45, seed=7)
    )
    assert [c.record.ref for c in created] == [f"calm-piano-waltz-{i}@1" for i in (1, 2, 3)]
    assert all(
        c.record.engine == engine.name and c.record.seed == 7 and c.candidate.notes for c in created
    )


def test_infill_writes_inside_the_range_and_keeps_every_other_note(engine, project) -> None:
    project.import_midi(LONG, name="song")
    before = project.load_piece(project.resolve("song"))
    start, end = 150.0, 200.0  # a random model's first time often lies past a shorter range's end
    created = operations.infill(
        project, engine, "song", start, end, None, SamplingParams(n=3, max_new_tokens=45, seed=5)
    )
    outside = sorted(
        (round(n.onset, 2), n.pitch, n.instrument)
        for n in before.notes
        if not start <= n.onset < end
    )
    for c in created:
        after = project.load_piece(c.record)
        assert (
            sorted(
                (round(n.onset, 2), n.pitch, n.instrument)
                for n in after.notes
                if not start <= n.onset < end
            )
            == outside
        )
        assert all(start <= n.onset < end for n in c.candidate.notes)
    assert any(c.candidate.notes for c in created)


def test_continue_writes_after_the_end(engine, project) -> None:
    project.import_midi(SHORT, name="chorale")
    before = project.load_piece(project.resolve("chorale"))
    seconds = 60.0  # long enough that a random model's first time seldom lies past it
    created = operations.continue_piece(
        project, engine, "chorale", seconds, None, SamplingParams(n=3, max_new_tokens=45, seed=8)
    )
    for c in created:
        assert c.record.parent == "chorale@1"
        assert all(
            before.duration - 1e-6 <= n.onset < before.duration + seconds for n in c.candidate.notes
        )
        assert len(project.load_piece(c.record).notes) == len(before.notes) + len(c.candidate.notes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n": 0}, "number of candidates"),
        ({"temperature": 0.0}, "temperature"),
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


def test_no_engine_can_break_the_musical_rules(engine) -> None:
    one_each = (1,) * 129
    spec = GrammarSpec(
        stop_time=1500, max_onsets_per_instrument=one_each, max_gap=100, fill_slack=50
    )
    completions = engine.generate(
        Request(prompt(engine), SamplingParams(n=3, max_new_tokens=240, seed=4), spec)
    )
    for completion in completions:
        tokens = music(engine, completion.token_ids)
        assert check_sequence(spec, tokens) is None
        notes = [tokens[i : i + 3] for i in range(0, len(tokens) - 2, 3)]
        onsets = [(t, (n - NOTE_OFFSET) // 128) for t, _, n in notes]
        assert len(onsets) == len(set(onsets)), "an instrument started two notes at one instant"
        reach = 0
        for time, duration, _ in notes:
            assert time <= reach + 100, "a silence longer than max_gap"
            reach = max(reach, time + duration - DUR_OFFSET)
        if completion.finish_reason == "stop":  # ended only once the span was filled
            assert music(engine, completion.token_ids)[-1] >= 1500 and reach >= 1450


def test_the_key_lean_reaches_every_engine_with_the_grammar_processor(engine) -> None:
    if engine.name == "server" and not engine.grammar_on_server:
        pytest.skip(
            "a stock server only allows ids; the lean needs the processor (it says so when "
            "connecting)"
        )
    only_c = tuple(30.0 if pc == 0 else -30.0 for pc in range(12))
    spec = GrammarSpec(instruments=frozenset({0}), pitch_bias=only_c)
    completions = engine.generate(
        Request(prompt(engine), SamplingParams(n=2, max_new_tokens=60, seed=5), spec)
    )
    pitches = [
        (t - NOTE_OFFSET) % 128 for c in completions for t in music(engine, c.token_ids)[2::3]
    ]
    assert pitches and all(p % 12 == 0 for p in pitches)


def test_no_engine_piles_notes_at_the_horizon(engine) -> None:
    spec = GrammarSpec(min_time=9_950)  # half a second before AMT's last arrival time
    completions = engine.generate(
        Request(prompt(engine), SamplingParams(n=2, max_new_tokens=90, seed=6), spec)
    )
    for completion in completions:
        tokens = music(engine, completion.token_ids)
        times = [t for t in tokens[0::3]]
        assert all(t < 9_999 for t in times[:-1]) and check_sequence(spec, tokens) is None
        if completion.finish_reason == "stop":
            assert (
                times[-1] == 9_999 and len(tokens) % 3 == 1
            )  # the horizon ended it: no note there
