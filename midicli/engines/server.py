"""The remote engine: a stock ``vllm serve MODEL`` spoken to over its OpenAI-compatible
``/v1/completions`` API with token-id prompts.

When the server was started with ``--logits-processors
midicli.engines.vllm_processor:GrammarLogitsProcessor`` the grammar runs there, as
in the in-process engine. Without it, each request allows (``allowed_token_ids``)
the ids the next event may use, and every answer is checked against the grammar
here: a candidate is cut at its first forbidden token, one token is drawn from
exactly the allowed ids, and sampling goes on from there (controls are appended
directly). That costs extra round trips, so the user is told once.

A server started with ``--enable-lora --lora-modules NAME=PATH`` serves a tuned LoRA
adapter under NAME: :meth:`ServerEngine.with_adapter` names it as the request's model.

Only the standard library talks HTTP: a client needs neither vLLM nor httpx.
"""

from __future__ import annotations

import copy
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from midicli.engines.base import Completion, ProgressCallback, Request, SamplingParams
from midicli.engines.models import model_hash as directory_hash
from midicli.engines.models import read_text_vocab_size, resolve_model
from midicli.engines.vllm_args import (
    checked_seed,
    finish,
    grammar_args,
    lora_rank,
    lora_room,
    music_ids,
)
from midicli.errors import GenerationError, ModelError, first_line
from midicli.tokenizers.amt_generation import GrammarSpec
from midicli.tokenizers.base import TokenGrammar
from midicli.tokenizers.vocab import ADUR_OFFSET, ANOTE_OFFSET, ANTICIPATE, ATIME_OFFSET

logger = logging.getLogger(__name__)

TRANSIENT_STATUS = {429, 500, 502, 503, 504}
_PROBE = GrammarSpec(
    controls=(ATIME_OFFSET, ADUR_OFFSET, ANOTE_OFFSET)
)  # forces three ids no sampler would pick
_FIRST_CHUNK, _MIN_CHUNK = 16, 4  # tokens asked for per round trip without the processor
_ROUND_SEED_STEP = 7919  # later rounds of a candidate get seeds far from the others' first rounds


class ServerEngine:
    """Generates on a running vLLM server; the text tokenizer is loaded locally for prompts."""

    name = "server"

    def __init__(
        self,
        model: str,
        url: str,
        served_model_name: str | None = None,
        timeout: float = 600.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        from transformers import AutoConfig, AutoTokenizer

        self.url = _api_root(url)
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.model_id = resolve_model(model)
        try:
            config = AutoConfig.from_pretrained(self.model_id)
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_id)
        except (OSError, ValueError, KeyError) as e:
            raise ModelError(
                f"cannot load the tokenizer of {self.model_id}: {first_line(e)}"
            ) from e
        self.text_vocab_size = read_text_vocab_size(config, self.model_id)
        self.vocab_size = int(config.vocab_size)
        eos = (
            self.tokenizer.eos_token_id
            if self.tokenizer.eos_token_id is not None
            else config.eos_token_id
        )
        self.eos_id = int(eos[0] if isinstance(eos, list) else eos)
        self.model_hash = directory_hash(self.model_id)
        self.adapter: str | None = (
            None  # the tuned adapter's name, recorded on the versions it writes
        )
        self.served, self.context = self._find_model(
            {model, self.model_id, served_model_name} - {None}
        )
        self._music_ids = music_ids(self.text_vocab_size)
        self.grammar_on_server = self._has_processor()
        if not self.grammar_on_server:
            logger.warning(
                "the vLLM server at %s has no midicli grammar processor: checking and resampling "
                "here, "
                "which is slower and leaves out the lean toward the caption's key (start it with "
                "--logits-processors "
                "midicli.engines.vllm_processor:GrammarLogitsProcessor)",
                self.url,
            )

    def generate(
        self, request: Request, progress: ProgressCallback | None = None
    ) -> list[Completion]:
        """``request.sampling.n`` continuations; the same seed on the same server gives the same
        ids. ``progress`` hears of the tokens once all candidates are back."""
        seed = checked_seed(request, self.vocab_size, self.context)
        spec, sampling = request.grammar, request.sampling
        if spec is None or self.grammar_on_server:
            extra: dict[str, Any] = {"allowed_token_ids": self._music_ids}
            if spec is not None:
                extra = {
                    "vllm_xargs": grammar_args(spec, self.text_vocab_size, self.eos_id),
                    "stop_token_ids": [self.eos_id],
                }
            answers = self._complete(
                request.prompt_ids, sampling, seed, sampling.max_new_tokens, extra
            )
            completions = [finish(ids, spec, self.text_vocab_size, self.eos_id) for ids in answers]
        else:
            with ThreadPoolExecutor(max_workers=sampling.n) as pool:
                jobs = [
                    pool.submit(self._checked, request.prompt_ids, sampling, spec, seed + i)
                    for i in range(sampling.n)
                ]
                completions = [job.result() for job in jobs]
        if progress is not None:
            for row, completion in enumerate(completions):
                for token in completion.token_ids:
                    progress(row, token)
        return completions

    def with_adapter(self, adapter: Path) -> ServerEngine:
        """This engine sampling through the LoRA adapter in folder ``adapter``, which the
        server must serve under the folder's name (checked in /v1/models)."""
        room = lora_room(lora_rank(adapter))
        for entry in self._call("/models", None).get("data", []):
            if entry.get("parent") == self.served and entry.get("id") == adapter.name:
                tuned = copy.copy(self)
                tuned.served, tuned.adapter = entry["id"], adapter.name
                return tuned
        raise ModelError(
            f"the vLLM server at {self.url} does not serve adapter {adapter.name}: start it with "
            "--enable-lora "
            f"--max-lora-rank {room} --lora-modules {adapter.name}={adapter.resolve()} (that "
            "folder's path on the server's machine)"
        )

    def close(self) -> None:
        """Nothing to free here: the server keeps the model."""

    def _checked(
        self, prompt: list[int], sampling: SamplingParams, spec: GrammarSpec, seed: int
    ) -> Completion:
        """One candidate sampled with music ids only and checked here (see the module doc).
        Answers are asked for in chunks that double while they come back valid and
        halve when cut, so a model that rarely errs needs few round trips and one
        that often does wastes little."""
        grammar, ids, rounds, chunk, exact = spec.start(), [], 0, _FIRST_CHUNK, False
        one = SamplingParams(1, sampling.temperature, sampling.top_p)
        while len(ids) < sampling.max_new_tokens and not grammar.finished:
            forced = grammar.forced()
            if forced is not None:
                grammar.advance(forced)
                ids.append(self.text_vocab_size + forced)
                continue
            allowed = self._ids(grammar.allowed() if exact else _next_event(grammar))
            count = 1 if exact else min(chunk, sampling.max_new_tokens - len(ids))
            round_seed = (seed + rounds * _ROUND_SEED_STEP) % 2**63
            (answer,) = self._complete(
                prompt + ids, one, round_seed, count, {"allowed_token_ids": allowed}
            )
            rounds, cut = rounds + 1, False
            for token in answer:
                music = token - self.text_vocab_size
                if grammar.finished or not grammar.permits(music):
                    cut = True
                    break
                grammar.advance(music)
                ids.append(token)
            if not exact:
                chunk = max(_MIN_CHUNK, chunk // 2) if cut else chunk * 2
            exact = cut
        return Completion(ids, "stop" if grammar.finished else "length")

    def _ids(self, ranges: list[tuple[int, int]] | tuple[tuple[int, int], ...]) -> list[int]:
        return sorted(
            {self.text_vocab_size + t for start, end in ranges for t in range(start, end)}
        )

    def _complete(
        self,
        prompt: list[int],
        sampling: SamplingParams,
        seed: int,
        max_tokens: int,
        extra: dict[str, Any],
    ) -> list[list[int]]:
        """Generated ids of each of ``sampling.n`` choices, in order."""
        body = {
            "model": self.served,
            "prompt": prompt,
            "n": sampling.n,
            "seed": seed,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": max_tokens,
            "return_token_ids": True,
            **extra,
        }
        choices = sorted(self._call("/completions", body)["choices"], key=lambda c: c["index"])
        if any(c.get("token_ids") is None for c in choices):
            raise GenerationError(
                f"the server at {self.url} returns no token ids: it needs vLLM with "
                "return_token_ids"
            )
        return [c["token_ids"] for c in choices]

    def _has_processor(self) -> bool:
        """Ask for three tokens a grammar would force: only our processor returns exactly them."""
        prompt = [self.text_vocab_size + ANTICIPATE]
        extra = {
            "vllm_xargs": grammar_args(_PROBE, self.text_vocab_size, self.eos_id),
            "stop_token_ids": [self.eos_id],
        }
        (ids,) = self._complete(prompt, SamplingParams(n=1), 0, 3, extra)
        return ids == [self.text_vocab_size + t for t in _PROBE.controls]

    def _find_model(self, names: set[str]) -> tuple[str, int | None]:
        """The served name for our model and its context length, from /v1/models
        (which also lists LoRA adapters: those name their base model as ``parent``)."""
        served = [e for e in self._call("/models", None).get("data", []) if not e.get("parent")]
        wanted = names | {str(Path(n).resolve()) for n in names if Path(n).exists()}
        for entry in served:
            root = entry.get("root") or ""
            if (
                entry.get("id") in wanted
                or root in wanted
                or (Path(root).exists() and str(Path(root).resolve()) in wanted)
            ):
                return entry["id"], entry.get("max_model_len")
        serving = ", ".join(e.get("id", "?") for e in served) or "nothing"
        raise GenerationError(
            f"the vLLM server at {self.url} serves {serving}, not {self.model_id}: "
            "start it with that model or pass its --served-model-name"
        )

    def _call(self, path: str, body: dict[str, Any] | None) -> Any:
        """GET (no body) or POST JSON, retrying what may pass (refused connections, 5xx)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": "application/json"}
        )
        attempt = 0
        while True:
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.load(response)
            except urllib.error.HTTPError as e:
                if e.code not in TRANSIENT_STATUS or attempt >= self.retries:
                    raise GenerationError(
                        f"the vLLM server at {self.url} refused the request: {_error_message(e)}"
                    ) from e
            except TimeoutError as e:
                raise GenerationError(
                    f"the vLLM server at {self.url} did not answer within {self.timeout:g} s"
                ) from e
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError) as e:
                if attempt >= self.retries:
                    reason = first_line(Exception(getattr(e, "reason", None) or e))
                    raise GenerationError(
                        f"cannot reach the vLLM server at {self.url}: {reason}"
                    ) from e
            time.sleep(self.backoff * 2**attempt)
            attempt += 1


def _next_event(grammar: TokenGrammar) -> list[tuple[int, int]]:
    """What the next three tokens (one whole event) may be, each at its place: the
    narrowest set one request can allow. A short list also costs the server less to
    parse than all 55,030 music ids."""
    probe, ranges = copy.deepcopy(grammar), []
    for _ in range(3):
        allowed = probe.allowed()
        if not allowed:
            break
        ranges.extend(allowed)
        probe.advance(allowed[0][0])
    return ranges


def _api_root(url: str) -> str:
    """``http://host:8000``, ``…/v1`` and ``…/v1/`` all mean the API under ``/v1``."""
    root = url.strip().rstrip("/")
    if not root.startswith(("http://", "https://")):
        raise ModelError(
            f"--url must be an http(s) address such as http://127.0.0.1:8000/v1, not {url!r}"
        )
    return root if root.endswith("/v1") else root + "/v1"


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        text = json.loads(error.read())["error"]["message"]
    except (ValueError, KeyError, TypeError):
        text = f"HTTP {error.code} {error.reason}"
    return first_line(Exception(text))
