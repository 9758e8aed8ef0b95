"""The in-process engine: our own sampling loop over a transformers causal LM.

We do not use ``model.generate`` because the grammar must see every token as it is
chosen (to advance its state and to inject control tokens), and a row whose piece
is finished must stop while its siblings go on. The prompt is run once and its KV
cache repeated for the ``n`` candidates; each step is then one forward pass over the
rows still going (finished rows leave the batch).

Only music ids (and the end id) are ever sampled, so the output layer projects the
final hidden state onto those rows alone (:class:`MusicHead`): in MIDI-LLM 55,031 of
183,286 rows, a quarter of the bytes the full head reads each step. Logits are then
columns of that narrowed row: music id k at column k, the end id after them.
"""

from __future__ import annotations

import inspect
import secrets
from typing import Any

import torch

from midicli.engines.base import (
    Completion,
    ProgressCallback,
    Request,
    SamplingParams,
    check_request,
)
from midicli.engines.constraints import apply_to_logits
from midicli.engines.kv_cache import preallocated_cache
from midicli.engines.llama_step import LlamaStep
from midicli.engines.models import LoadedModel
from midicli.engines.quantize import quantized_linear
from midicli.errors import GenerationError
from midicli.tokenizers.base import TokenGrammar
from midicli.tokenizers.vocab import MUSIC_VOCAB_SIZE

_NUCLEUS_GUESS = 256  # ids searched for the top-p nucleus before sorting everything


def cache_keyword(model: Any) -> str:
    """The name under which the model's forward takes its KV cache: ``cache`` since
    transformers 5.20 (``past_key_values`` still works there but warns), before that
    ``past_key_values`` (the vLLM CPU build pins transformers below 5.20)."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


class TransformersEngine:
    """Samples music continuations from a loaded model, one batch of candidates per request."""

    name = "transformers"

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.model_id = loaded.model_id
        self.model_hash = loaded.hash
        self.adapter = loaded.adapter  # recorded on the versions it writes
        self.device = loaded.device
        self.text_vocab_size = loaded.text_vocab_size
        self.vocab_size = loaded.vocab_size
        self.eos_id = loaded.eos_id
        self.precision = loaded.precision  # recorded on the versions it writes
        self._decoder = self.model.get_decoder()
        self._cache_keyword = cache_keyword(self._decoder)
        self._head = MusicHead(self.model, self.text_vocab_size, self.eos_id, loaded.quantization)
        self._llama_step = LlamaStep.for_model(self.model, self.device)
        # Without a grammar only music ids may be sampled (as MIDI-LLM's own script does).
        self._music_only = torch.zeros(self._head.width, device=self.device)
        self._music_only[MUSIC_VOCAB_SIZE:] = float("-inf")

    def generate(
        self, request: Request, progress: ProgressCallback | None = None
    ) -> list[Completion]:
        """``request.sampling.n`` continuations of the prompt; the same seed gives the same ids."""
        sampling = request.sampling
        if self.model is None:
            raise GenerationError("this engine is closed: load the model again")
        check_request(
            request, self.vocab_size, getattr(self.model.config, "max_position_embeddings", None)
        )
        grammars = (
            [request.grammar.start() for _ in range(sampling.n)]
            if request.grammar is not None
            else []
        )
        seed = sampling.seed if sampling.seed is not None else secrets.randbits(63)
        generator = torch.Generator(device=self.device).manual_seed(seed)
        with torch.inference_mode():
            return self._sample(request.prompt_ids, sampling, grammars, generator, progress)

    def close(self) -> None:
        """Free the weights (and GPU memory) now rather than at interpreter exit."""
        self.model = self._decoder = self._head = self._llama_step = None
        self.loaded.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _sample(
        self,
        prompt_ids: list[int],
        sampling: SamplingParams,
        grammars: list[TokenGrammar],
        generator: torch.Generator,
        progress: ProgressCallback | None,
    ) -> list[Completion]:
        n = sampling.n
        rows: list[list[int]] = [[] for _ in range(n)]
        reasons: list[str | None] = [None] * n
        active = list(range(n))  # rows still generating, in the order of the batch
        cache = preallocated_cache(self.model.config, len(prompt_ids) + sampling.max_new_tokens)
        prefill = torch.tensor([prompt_ids], device=self.device)
        logits = self._step(prefill, cache).repeat(n, 1)
        cache.batch_repeat_interleave(n)
        for step in range(sampling.max_new_tokens):
            chosen = self._choose(
                logits, sampling, [grammars[i] for i in active] if grammars else [], generator
            )
            for i, token in zip(active, chosen):
                if token == self.eos_id:
                    reasons[i] = "stop"
                    continue
                rows[i].append(token)
                if grammars:
                    grammars[i].advance(token - self.text_vocab_size)
                    if grammars[i].finished:
                        reasons[i] = "stop"
                if progress is not None:
                    progress(i, token)
            going = [k for k, i in enumerate(active) if reasons[i] is None]
            if not going or step == sampling.max_new_tokens - 1:
                break
            if len(going) < len(active):  # drop finished rows from the batch and the cache
                cache.batch_select_indices(torch.tensor(going, device=self.device))
                active = [active[k] for k in going]
                chosen = [chosen[k] for k in going]
            logits = self._step(torch.tensor(chosen, device=self.device).unsqueeze(1), cache)
        return [Completion(ids, reason or "length") for ids, reason in zip(rows, reasons)]

    def _step(self, inputs: torch.Tensor, cache: Any) -> torch.Tensor:
        """Run ``inputs`` through the transformer blocks (growing ``cache``) and return
        the music head's float logits at the last position, one row per batch row: one
        new token a row through :class:`LlamaStep` where it applies, else (and for the
        prompt) through transformers' forward."""
        if inputs.shape[1] == 1 and self._llama_step is not None:
            return self._head(self._llama_step(inputs, cache))
        out = self._decoder(input_ids=inputs, use_cache=True, **{self._cache_keyword: cache})
        return self._head(out.last_hidden_state[:, -1, :])

    def _choose(
        self,
        logits: torch.Tensor,
        sampling: SamplingParams,
        grammars: list[TokenGrammar],
        generator: torch.Generator,
    ) -> list[int]:
        """One token per row: forced where the grammar allows a single id, else sampled
        with temperature and top-p among the allowed ids."""
        if grammars:
            apply_to_logits(logits, grammars, 0, self._head.eos_column)
        else:
            logits += self._music_only
        columns = _sample_top_p(logits, sampling.temperature, sampling.top_p, generator).tolist()
        tokens = [
            self.eos_id if c == MUSIC_VOCAB_SIZE else self.text_vocab_size + c for c in columns
        ]
        for i, grammar in enumerate(grammars):
            forced = None if grammar.finished else grammar.forced()
            if forced is not None:
                tokens[i] = self.text_vocab_size + forced
        return tokens


class MusicHead:
    """The output layer narrowed to the ids we sample: music id k at column k, then
    the end id (when the model has one) at column ``MUSIC_VOCAB_SIZE``.

    Unquantized, the music rows are a view of the model's own head (no copy); with
    quantized weights they are quantized once here like the transformer blocks.
    Models whose head does more than a linear map (logit soft-capping, scaling) keep
    the full head, narrowed after it."""

    def __init__(
        self, model: Any, text_vocab_size: int, eos_id: int | None, quantization: str
    ) -> None:
        head = model.get_output_embeddings()
        config = model.config
        self.eos_column = MUSIC_VOCAB_SIZE if eos_id is not None else None
        self.width = MUSIC_VOCAB_SIZE + (eos_id is not None)
        music = slice(text_vocab_size, text_vocab_size + MUSIC_VOCAB_SIZE)
        plain = type(head) is torch.nn.Linear and not any(
            getattr(config, key, None)
            for key in ("final_logit_softcapping", "logit_scale", "logits_scaling")
        )
        self._full = None if plain else head
        weight, bias = head.weight.detach(), None if head.bias is None else head.bias.detach()
        ends = [] if eos_id is None else [eos_id]
        self._rows = torch.tensor(list(range(music.start, music.stop)) + ends, device=weight.device)
        self._music_weight, self._music_bias = weight[music], None if bias is None else bias[music]
        self._eos_weight = None if eos_id is None else weight[eos_id : eos_id + 1]
        self._eos_bias = None if bias is None or eos_id is None else bias[eos_id : eos_id + 1]
        self._quantized = (
            quantized_linear(self._music_weight, self._music_bias, quantization) if plain else None
        )

    def bytes_read(self) -> int:
        """Weight bytes one projection reads (what bounds a decoding step on a CPU)."""
        if self._full is not None:
            parts = [self._full.weight, self._full.bias]
        elif self._quantized is not None:
            parts = [self._eos_weight, self._eos_bias]
            return self._quantized.nbytes + sum(
                t.numel() * t.element_size() for t in parts if t is not None
            )
        else:
            parts = [self._music_weight, self._music_bias, self._eos_weight, self._eos_bias]
        return sum(t.numel() * t.element_size() for t in parts if t is not None)

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        """Float logits (rows × width) for the final hidden states (rows × hidden)."""
        if self._full is not None:
            return self._full(hidden)[:, self._rows].float()
        if self._quantized is not None:
            music = self._quantized(hidden)
        else:
            music = torch.nn.functional.linear(hidden, self._music_weight, self._music_bias)
        if self._eos_weight is None:
            return music.float()
        eos = torch.nn.functional.linear(hidden, self._eos_weight, self._eos_bias)
        return torch.cat([music, eos], dim=-1).float()


def _sample_top_p(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator
) -> torch.Tensor:
    """Nucleus sampling per row: draw among the smallest set of most likely ids whose
    probability reaches ``top_p`` (always at least the most likely one).

    Sorting the whole vocabulary costs ~3 ms a row on a CPU (5 % of a 1b model's step),
    so the nucleus is first looked for among the ``_NUCLEUS_GUESS`` most likely ids (where
    a trained model usually puts it); where it is wider (an untrained model, a high
    temperature) :func:`_nucleus` finds it without sorting. The draw inverts a
    cumulative sum (``torch.multinomial`` is slower here).
    """
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p >= 1.0:
        cdf = probs.cumsum(dim=-1)
        return _draw(cdf, cdf[:, -1:], generator).squeeze(1)
    ranked, order = probs.topk(min(_NUCLEUS_GUESS, probs.shape[-1]), dim=-1)
    cdf = ranked.cumsum(dim=-1)
    if bool((cdf[:, -1] >= top_p).all()):
        kept = (cdf - ranked < top_p).sum(dim=-1, keepdim=True)
        return order.gather(-1, _draw(cdf, cdf.gather(-1, kept - 1), generator)).squeeze(1)
    cdf = (probs * _nucleus(probs, top_p)).cumsum(dim=-1)  # in id order: the same distribution
    return _draw(cdf, cdf[:, -1:], generator).squeeze(1)


def _nucleus(probs: torch.Tensor, top_p: float, bins: int = 1024) -> torch.Tensor:
    """Per row, which ids are in the nucleus (the most likely ids until their probability
    reaches ``top_p``), found without sorting the vocabulary: ids are binned by
    log-probability, the bins' masses summed from the most likely down, and only the ids
    in the bin where the sum crosses ``top_p`` are sorted."""
    logp = probs.log()
    top = logp.amax(dim=-1, keepdim=True)
    bottom = torch.where(probs > 0, logp, top).amin(dim=-1, keepdim=True)
    width = ((top - bottom) / bins).clamp(min=1e-12)
    index = ((top - logp) / width).nan_to_num(posinf=bins).clamp(0, bins - 1).long()
    mass = torch.zeros(probs.shape[0], bins, dtype=probs.dtype, device=probs.device)
    cum = mass.scatter_add_(1, index, probs).cumsum(dim=-1)
    crossing = (cum < top_p).sum(dim=-1, keepdim=True).clamp(max=bins - 1)
    above = torch.where(crossing > 0, cum.gather(-1, (crossing - 1).clamp(min=0)), 0.0)
    keep = (index < crossing) & (probs > 0)
    edge = torch.where(index == crossing, probs, 0.0)
    width_of_edge = int((edge > 0).sum(dim=-1).max())
    if width_of_edge:
        ranked, order = edge.topk(width_of_edge, dim=-1)
        taken = (above + ranked.cumsum(dim=-1) - ranked < top_p) & (ranked > 0)
        keep.scatter_(1, order, taken | keep.gather(1, order))
    return keep


def _draw(cdf: torch.Tensor, mass: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per row, the index where a uniform draw in (0, mass] meets the cumulative
    probabilities ``cdf``: an id with positive probability, within the first ``mass``."""
    u = (1.0 - torch.rand(mass.shape, generator=generator, device=mass.device)) * mass
    return torch.searchsorted(cdf, u)
