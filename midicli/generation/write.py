"""Writing a span with an engine: one batched round for the n candidates, then
further rounds per candidate while the span is not filled yet."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from midicli.engines.base import Engine, Request, SamplingParams
from midicli.errors import GenerationError
from midicli.generation.prompt import build_prompt, text_ids
from midicli.generation.span import Constraints, RoundView, Span, round_view
from midicli.music.piece import Note
from midicli.tokenizers.vocab import MAX_TIME, MUSIC_VOCAB_SIZE, TIME_OFFSET, TIME_RESOLUTION

MAX_ROUNDS = 12

# (candidate index, tokens generated so far, seconds of new music so far)
CandidateProgress = Callable[[int, int, float], None]


@dataclass
class Candidate:
    """New notes for one candidate and the exact ids that made them (first round)."""

    notes: list[Note] = field(default_factory=list)
    prompt_ids: list[int] = field(default_factory=list)
    generated_ids: list[int] = field(default_factory=list)
    tokens: int = 0
    rounds: int = 0
    finish_reason: str = ""
    seconds: float = 0.0  # wall time spent on it


def _music_ids(ids: list[int], text_vocab_size: int) -> list[int]:
    music = [i - text_vocab_size for i in ids]
    bad = next((i for i, t in enumerate(music) if not 0 <= t < MUSIC_VOCAB_SIZE), None)
    if bad is not None:
        raise GenerationError(
            f"the engine returned a non-music token (id {ids[bad]}) at position {bad}"
        )
    return music


def _round(
    engine: Engine,
    text: list[int],
    view: RoundView,
    sampling: SamplingParams,
    span_start: float,
    progress: CandidateProgress | None,
    rows: list[int],
) -> list[tuple[list[int], list[int], str]]:
    """One engine call: (prompt ids, generated music ids, finish reason) per sample."""
    prompt = build_prompt(text, engine.text_vocab_size, view.music, anticipate=view.anticipates)
    counts = [0] * sampling.n
    times = [0.0] * sampling.n

    def report(row: int, token: int) -> None:
        counts[row] += 1
        music = token - engine.text_vocab_size
        if TIME_OFFSET <= music < TIME_OFFSET + MAX_TIME:
            times[row] = max(times[row], (view.origin + music) / TIME_RESOLUTION - span_start)
        if progress is not None:
            progress(rows[row], counts[row], times[row])

    completions = engine.generate(Request(prompt, sampling, view.spec), report)
    return [
        (prompt, _music_ids(c.token_ids, engine.text_vocab_size), c.finish_reason)
        for c in completions
    ]


def write_span(
    engine: Engine,
    tokenizer: Any,
    description: str,
    span: Span,
    sampling: SamplingParams,
    constraints: Constraints,
    progress: CandidateProgress | None = None,
) -> list[Candidate]:
    """Fill ``span`` ``sampling.n`` times. A candidate gets more rounds (each a fresh
    window at its newest notes) until it reaches the span's end, stops making notes,
    or MAX_ROUNDS is hit; without an end, one round is the whole job (compose)."""
    text = text_ids(tokenizer, description)
    started = time.perf_counter()
    view = round_view(span, [], span.start, constraints)
    first = _round(engine, text, view, sampling, span.start, progress, list(range(sampling.n)))
    shared = time.perf_counter() - started
    candidates = []
    for index, (prompt, music, reason) in enumerate(first):
        candidate = Candidate(view.to_notes(music), prompt, music, len(music), 1, reason, shared)
        done = span.end is None or (reason == "stop" and view.reaches_span_end)
        while not done and candidate.rounds < MAX_ROUNDS:
            began = time.perf_counter()
            start = (
                max(span.start, max(n.onset for n in candidate.notes))
                if candidate.notes
                else span.start
            )
            view_k = round_view(span, candidate.notes, start, constraints)
            seed = (
                None if sampling.seed is None else sampling.seed + 1000 * candidate.rounds + index
            )
            ((_, more, reason),) = _round(
                engine,
                text,
                view_k,
                replace(sampling, n=1, seed=seed),
                span.start,
                progress,
                [index],
            )
            new = view_k.to_notes(more)
            candidate.notes += new
            candidate.tokens += len(more)
            candidate.rounds += 1
            candidate.finish_reason = reason
            candidate.seconds += time.perf_counter() - began
            done = not new or (reason == "stop" and view_k.reaches_span_end)
        candidates.append(candidate)
    return candidates
