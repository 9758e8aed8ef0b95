"""compose, continue and infill: the user's operations, each storing new versions.

Every version keeps a manifest of how it was made (model and hash, engine, all
parameters, seed, the exact prompt and generated ids, timings), so any result can be
reproduced and preference tuning later trains on exactly what the model produced.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from midicli.engines.base import Engine, SamplingParams
from midicli.errors import GenerationError
from midicli.generation.span import Span
from midicli.generation.write import Candidate, Constraints, Progress, write_span
from midicli.music.piece import Note, Piece
from midicli.project import Project
from midicli.project.records import NAMING_NUMBERED, NewVersion, VersionRecord
from midicli.project.refs import slugify
from midicli.tokenizers.vocab import MAX_TIME, TIME_RESOLUTION

MAX_SPAN_SECONDS = (MAX_TIME - 1) / TIME_RESOLUTION


@dataclass
class Created:
    """A stored candidate and the figures for the summary table."""

    record: VersionRecord
    candidate: Candidate


def check_sampling(sampling: SamplingParams) -> SamplingParams:
    if sampling.n < 1:
        raise GenerationError(f"-n must be at least 1, got {sampling.n}")
    if sampling.temperature <= 0:
        raise GenerationError(f"--temperature must be above 0, got {sampling.temperature}")
    if not 0 < sampling.top_p <= 1:
        raise GenerationError(f"--top-p must be in (0, 1], got {sampling.top_p}")
    if sampling.max_new_tokens < 3:
        raise GenerationError(f"--max-tokens must be at least 3 (one note), got {sampling.max_new_tokens}")
    if sampling.seed is None:  # a recorded seed makes every result reproducible
        return SamplingParams(**{**asdict(sampling), "seed": random.randrange(2**31)})
    return sampling


def _store(
    project: Project,
    engine: Engine,
    operation: str,
    names: list[str],
    results: list[tuple[Piece, Candidate]],
    text: str,
    sampling: SamplingParams,
    constraints: Constraints,
    parent: VersionRecord | None,
    extra: dict[str, Any],
    naming: str = "exact",
) -> list[Created]:
    batch = uuid.uuid4().hex
    params = {**asdict(sampling), **extra, "instruments": sorted(constraints.instruments or []),
              "max_onsets_per_instant": constraints.max_onsets_per_instant, "max_instruments": constraints.max_instruments}
    new = [
        NewVersion(
            name=name,
            piece=piece,
            operation=operation,
            parent=parent,
            text=text,
            params=params,
            seed=sampling.seed,
            model=engine.model_id,
            model_hash=engine.model_hash,
            engine=engine.name,
            adapter=getattr(engine, "adapter", None),  # engines that cannot load adapters have none
            timings={"seconds": round(c.seconds, 3), "tokens": c.tokens, "rounds": c.rounds,
                     "tokens_per_second": round(c.tokens / c.seconds, 1) if c.seconds else None},
            manifest={"prompt_ids": c.prompt_ids, "generated_ids": c.generated_ids, "finish_reason": c.finish_reason,
                      "candidate": index},
            batch=batch,
            naming=naming,
        )
        for index, (name, (piece, c)) in enumerate(zip(names, results))
    ]
    records = project.add_versions(new)
    return [Created(record, candidate) for record, (_, candidate) in zip(records, results)]


def _usable(candidates: list[Candidate]) -> None:
    if not any(c.notes for c in candidates):
        raise GenerationError("the model wrote no notes in any candidate; try another --seed or more --max-tokens")


def compose(
    project: Project,
    engine: Engine,
    text: str,
    sampling: SamplingParams,
    constraints: Constraints | None = None,
    progress: Progress | None = None,
) -> list[Created]:
    """n new pieces from a description, named after it (``calm-waltz-1``, …)."""
    sampling, constraints = check_sampling(sampling), constraints or Constraints()
    candidates = write_span(engine, engine.tokenizer, text, Span((), 0.0, None), sampling, constraints, progress)
    _usable(candidates)
    kept = [c for c in candidates if c.notes]
    names = [slugify(text) or "piece"] * len(kept)  # stems: numbered as they are stored, under the write lock
    results = [(Piece(sorted(c.notes, key=lambda n: n.onset)), c) for c in kept]
    return _store(project, engine, "compose", names, results, text, sampling, constraints, None, {}, NAMING_NUMBERED)


def _text_for(record: VersionRecord, text: str | None) -> str:
    """Continue and infill reuse the piece's description unless given new words."""
    return text if text is not None else (record.text or "")


def _results(base: Piece, fixed: list[Note], candidates: list[Candidate]) -> list[tuple[Piece, Candidate]]:
    """Whole pieces: the fixed notes plus each candidate's new ones, in time order."""
    return [(base.with_notes(sorted(fixed + c.notes, key=lambda n: n.onset)), c) for c in candidates]


def continue_piece(
    project: Project,
    engine: Engine,
    ref: str,
    seconds: float,
    text: str | None,
    sampling: SamplingParams,
    constraints: Constraints | None = None,
    progress: Progress | None = None,
) -> list[Created]:
    """n sibling versions that extend the piece by ``seconds`` after its last note ends."""
    sampling, constraints = check_sampling(sampling), constraints or Constraints()
    if seconds <= 0:
        raise GenerationError(f"--seconds must be positive, got {seconds}")
    record = project.resolve(ref)
    base = project.load_piece(record)
    start = base.duration
    span = Span(tuple(base.notes), start, start + seconds)
    words = _text_for(record, text)
    candidates = write_span(engine, engine.tokenizer, words, span, sampling, constraints, progress)
    _usable(candidates)
    results = _results(base, list(base.notes), [c for c in candidates if c.notes])
    extra = {"seconds": seconds, "from": start}
    return _store(project, engine, "continue", [record.piece] * len(results), results, words, sampling, constraints, record, extra)


def check_range(piece: Piece, start: float, end: float) -> None:
    """An infill range must be non-empty, start inside the piece and fit one window."""
    if start < 0 or start >= end:
        raise GenerationError(f"the infill range must have 0 <= start < end, got {start:g}–{end:g} s")
    if start >= piece.duration:
        raise GenerationError(f"the range starts at {start:g} s, after the piece ends ({piece.duration:.2f} s); use continue")
    if end - start > MAX_SPAN_SECONDS:
        raise GenerationError(f"an infill range can be at most {MAX_SPAN_SECONDS:g} s long; infill it in parts")


def infill(
    project: Project,
    engine: Engine,
    ref: str,
    start: float,
    end: float,
    text: str | None,
    sampling: SamplingParams,
    instrument: int | None = None,
    constraints: Constraints | None = None,
    progress: Progress | None = None,
) -> list[Created]:
    """n sibling versions with [start, end) rewritten: all of it, or one instrument's
    part (the other instruments become anticipated controls, AMT accompaniment)."""
    sampling, constraints = check_sampling(sampling), constraints or Constraints()
    record = project.resolve(ref)
    base = project.load_piece(record)
    check_range(base, start, end)
    if instrument is not None:
        allowed = constraints.instruments
        if allowed is not None and instrument not in allowed:
            raise GenerationError("--instrument is not in the --instruments allow-list")
        constraints = Constraints(frozenset({instrument}), constraints.max_instruments, constraints.max_onsets_per_instant)

    def rewritten(note: Note) -> bool:
        return start <= note.onset < end and (instrument is None or note.instrument == instrument)

    fixed = [n for n in base.notes if not rewritten(n)]
    words = _text_for(record, text)
    candidates = write_span(engine, engine.tokenizer, words, Span(tuple(fixed), start, end), sampling, constraints, progress)
    results = _results(base, fixed, candidates)
    extra = {"start": start, "end": end, "instrument": instrument}
    return _store(project, engine, "infill", [record.piece] * len(results), results, words, sampling, constraints, record, extra)
