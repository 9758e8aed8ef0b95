"""The server engine against real `vllm serve` processes: it finds out whether the
grammar runs there, says so once when it does not, and turns a missing, wrong or
dying server into one clear line; a server launched with a tuned LoRA adapter samples
through it. The dying-server test stops the stock server: it stays last in this file,
and no later test file uses that server."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest
from support import files_under
from typer.testing import CliRunner

from midicli.cli.main import app
from midicli.engines.base import Request, SamplingParams
from midicli.engines.pool import open_engine
from midicli.engines.server import ServerEngine
from midicli.errors import GenerationError, ModelError
from midicli.generation import operations
from midicli.project import Project
from midicli.tokenizers.amt_generation import GrammarSpec
from midicli.tokenizers.vocab import AUTOREGRESS

pytestmark = pytest.mark.slow


def test_the_server_with_the_processor_runs_the_grammar_itself(server_engine) -> None:
    assert server_engine.grammar_on_server


def test_a_stock_server_is_detected_and_the_user_told_once(
    servers, fallback_engine, vllm_model_dir, caplog
) -> None:
    assert not fallback_engine.grammar_on_server
    with caplog.at_level(logging.WARNING, logger="midicli.engines.server"):
        engine = ServerEngine(str(vllm_model_dir), servers["stock"].url)
        for seed in (1, 2):
            prompt = engine.tokenizer("jazz ").input_ids + [engine.text_vocab_size + AUTOREGRESS]
            engine.generate(
                Request(prompt, SamplingParams(n=1, max_new_tokens=9, seed=seed), GrammarSpec())
            )
    told = [r for r in caplog.records if "--logits-processors" in r.getMessage()]
    assert len(told) == 1 and "no midicli grammar processor" in told[0].getMessage()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_server_at_the_address_is_one_line(vllm_model_dir: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(GenerationError, match=f"^cannot reach the vLLM server at {url}: ") as error:
        ServerEngine(str(vllm_model_dir), url, backoff=0.05)
    assert "\n" not in str(error.value)


def test_a_server_serving_another_model_is_refused(
    servers, server_engine, tiny_model_dir: Path, vllm_model_dir: Path
) -> None:
    url = servers["grammar"].url
    with pytest.raises(GenerationError, match=f"serves {vllm_model_dir}, not {tiny_model_dir}"):
        ServerEngine(str(tiny_model_dir), url)
    assert ServerEngine(
        str(tiny_model_dir), url, served_model_name=str(vllm_model_dir)
    ).served == str(vllm_model_dir)


@pytest.mark.parametrize(
    ("options", "words"), [({}, "needs the server's address"), ({"url": "127.0.0.1:8000"}, "http")]
)
def test_a_missing_or_bad_address_is_refused(
    vllm_model_dir: Path, options: dict, words: str
) -> None:
    with pytest.raises(ModelError, match=words):
        open_engine("server", str(vllm_model_dir), **options)


def test_compose_from_the_command_line_on_the_server_engine(
    servers, server_engine, vllm_model_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    if "--url" not in runner.invoke(app, ["compose", "--help"]).output:
        pytest.skip("compose has no --url option yet")
    root = tmp_path / "songs"
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
        "server",
        "--url",
        servers["grammar"].url,
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["created"] == ["calm-piano-waltz-1@1", "calm-piano-waltz-2@1"]
    assert {c["engine"] for c in out["candidates"]} == {"server"}


def test_a_server_launched_with_the_adapter_samples_through_it(
    servers, server_engine, vllm_model_dir: Path, lora_adapter: Path
) -> None:
    tuned = open_engine(
        "server", str(vllm_model_dir), url=servers["grammar"].url, adapter=str(lora_adapter)
    )
    assert (tuned.adapter, tuned.served, server_engine.adapter) == ("warm", "warm", None)
    prompt = server_engine.tokenizer("A calm waltz for piano ").input_ids + [
        server_engine.text_vocab_size + AUTOREGRESS
    ]
    request = Request(
        prompt, SamplingParams(n=2, max_new_tokens=30, seed=4, temperature=0.3), GrammarSpec()
    )
    with_adapter = [c.token_ids for c in tuned.generate(request)]
    assert with_adapter != [c.token_ids for c in server_engine.generate(request)]
    assert [c.token_ids for c in tuned.generate(request)] == with_adapter


def test_the_server_applies_the_adapter_as_the_transformers_engine_does(
    servers, server_engine, tuned_next_token
) -> None:
    prompt, expected = tuned_next_token
    body = {
        "model": "warm",
        "prompt": prompt,
        "max_tokens": 1,
        "logprobs": 5,
        "return_tokens_as_token_ids": True,
    }
    request = urllib.request.Request(
        servers["grammar"].url + "/completions",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        (top,) = json.load(response)["choices"][0]["logprobs"]["top_logprobs"]
    got = {int(token.removeprefix("token_id:")): logprob for token, logprob in top.items()}
    assert got.keys() >= expected.keys()
    assert all(
        got[token] == pytest.approx(logprob, abs=1e-4) for token, logprob in expected.items()
    )


def test_a_server_not_serving_the_adapter_tells_the_launch_flags(
    servers, fallback_engine, vllm_model_dir: Path, lora_adapter: Path
) -> None:
    with pytest.raises(ModelError) as error:
        open_engine(
            "server", str(vllm_model_dir), url=servers["stock"].url, adapter=str(lora_adapter)
        )
    message = str(error.value)
    assert message.startswith(
        f"the vLLM server at {servers['stock'].url} does not serve adapter warm: "
    )
    assert (
        f"--enable-lora --max-lora-rank 8 --lora-modules warm={lora_adapter}" in message
        and "\n" not in message
    )


def test_fully_tuned_weights_are_refused_in_one_line(
    servers, server_engine, vllm_model_dir: Path, tmp_path: Path
) -> None:
    full = tmp_path / "adapters" / "big"  # what `midicli tune big --full` leaves: a whole model
    shutil.copytree(vllm_model_dir, full)
    with pytest.raises(
        ModelError, match="^adapter big holds fully tuned weights .* use --engine transformers$"
    ):
        open_engine("server", str(vllm_model_dir), url=servers["grammar"].url, adapter=str(full))


def test_versions_composed_with_an_adapter_on_the_server_engine_record_it(
    servers, server_engine, tuned_project: Path
) -> None:
    args = [
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
        "server",
        "--url",
        servers["grammar"].url,
        "--adapter",
        "warm",
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert {(c["engine"], c["adapter"]) for c in json.loads(result.stdout)["candidates"]} == {
        ("server", "warm")
    }


def test_a_server_that_dies_mid_request_is_one_line_and_the_project_unchanged(
    servers, fallback_engine, tmp_path: Path
) -> None:
    """Last in this file: it stops the stock server, as soon as the first round of a
    long piece is back (30 tokens cannot fill 99 s, so more rounds must follow)."""
    with Project.init(tmp_path / "songs") as project:
        before = files_under(project.root)

        def kill_the_server(row: int, tokens: int, music: float) -> None:
            servers["stock"].kill()  # at once; a second call does nothing

        with pytest.raises(GenerationError) as failure:
            operations.compose(
                project,
                fallback_engine,
                "a long piece",
                SamplingParams(n=2, max_new_tokens=30, seed=1),
                progress=kill_the_server,
                seconds=99.0,
            )
        error = failure.value
        assert "\n" not in str(error)
        assert str(error).startswith(f"cannot reach the vLLM server at {servers['stock'].url}")
        assert files_under(project.root) == before and project.pieces() == []
