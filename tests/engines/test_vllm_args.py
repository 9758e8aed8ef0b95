"""What travels to vLLM with a request, and how its answer is read back (no vLLM needed)."""

from __future__ import annotations

import json

import pytest

from midicli.engines.vllm_args import (
    GRAMMAR_ARG,
    finish,
    grammar_args,
    read_grammar_args,
    spec_from_dict,
    spec_to_dict,
)
from midicli.errors import GenerationError
from midicli.tokenizers.amt_generation import GrammarSpec
from midicli.tokenizers.vocab import (
    ADUR_OFFSET,
    ANOTE_OFFSET,
    ATIME_OFFSET,
    DUR_OFFSET,
    NOTE_OFFSET,
)

TEXT = 1024
EOS = 1
PIANO_AT_0 = (ATIME_OFFSET, ADUR_OFFSET + 50, ANOTE_OFFSET + 60)


@pytest.mark.parametrize(
    "spec",
    [
        GrammarSpec(),
        GrammarSpec(
            history=(100, DUR_OFFSET + 20, NOTE_OFFSET + 60),
            min_time=100,
            stop_time=900,
            controls=PIANO_AT_0,
            instruments=frozenset({0, 128}),
            max_instruments=3,
            max_onsets_per_instant=5,
            max_onsets_per_instrument=(3,) * 128 + (5,),
            max_gap=250,
            fill_slack=40,
            pitch_bias=(0.5, -1.0) * 6,
            instrument_bias=(0.0,) * 128 + (-2.0,),
            delta=300,
        ),
    ],
    ids=["defaults", "everything set"],
)
def test_a_spec_survives_the_trip_as_json(spec: GrammarSpec) -> None:
    assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec
    assert read_grammar_args(grammar_args(spec, TEXT, EOS)) == (spec, TEXT, EOS)


def test_requests_without_a_grammar_carry_none() -> None:
    assert read_grammar_args(None) is None
    assert read_grammar_args({"something": "else"}) is None


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        json.dumps({"spec": {}, "offset": 1, "eos": 1}),
        json.dumps({"offset": 1}),
        json.dumps(
            {"spec": {**spec_to_dict(GrammarSpec()), "controls": [1, 2]}, "offset": 1, "eos": 1}
        ),
    ],
    ids=["not json", "empty spec", "no spec", "controls not triplets"],
)
def test_a_broken_grammar_is_a_value_error(raw: str) -> None:
    with pytest.raises(ValueError):
        read_grammar_args({GRAMMAR_ARG: raw})


def test_finish_strips_the_end_and_says_stop_only_when_the_grammar_finished() -> None:
    spec = GrammarSpec(stop_time=500)
    note = [TEXT + 100, TEXT + DUR_OFFSET + 10, TEXT + NOTE_OFFSET + 60]
    stopped = finish([*note, TEXT + 600, EOS], spec, TEXT, EOS)
    assert (stopped.token_ids, stopped.finish_reason) == ([*note, TEXT + 600], "stop")
    assert finish(note, spec, TEXT, EOS).finish_reason == "length"
    assert finish(note, None, TEXT, EOS).finish_reason == "length"
    with pytest.raises(GenerationError, match="forbids"):
        finish([TEXT + DUR_OFFSET], spec, TEXT, EOS)
