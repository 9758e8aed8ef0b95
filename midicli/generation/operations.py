"""compose, continue and infill: the user's operations, each storing new versions.

Every version keeps a manifest of how it was made (model and hash, engine, all
parameters, seed, the exact prompt and generated ids, timings), so any result can be
reproduced and preference tuning later trains on exactly what the model produced.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from midicli import defaults
from midicli.engines.base import Engine, SamplingParams
from midicli.errors import GenerationError
from midicli.generation.guidance import instrument_lean, key_lean
from midicli.generation.ranking import Ranking, best
from midicli.generation.settings import model_settings
from midicli.generation.span import Constraints, Span
from midicli.generation.write import Candidate, CandidateProgress, write_span
from midicli.music.captions import parse_caption
from midicli.music.piece import Note, Piece
from midicli.project import Project
from midicli.project.config import ProjectConfig
from midicli.project.records import NAMING_NUMBERED, NewVersion, VersionRecord
from midicli.project.refs import slugify
from midicli.tokenizers.vocab import MAX_TIME, TIME_RESOLUTION

MAX_SPAN_SECONDS = (MAX_TIME - 1) / TIME_RESOLUTION


@dataclass
class Created:
    """A stored candidate, its rank among those drawn, and the figures for the summary table."""

    record: VersionRecord
    candidate: Candidate
    ranking: Ranking | None = None


@dataclass(frozen=True)
class Drawing:
    """How many candidates to draw for those shown, and the leans toward the caption's
    key and instruments; None: the project's setting, else what the model recommends."""

    best_of: int | None = None
    key_lean: float | None = None
    instrument_lean: float | None = None


# How the user's options name each sampling setting, and why a setting has its floor.
_OPTION_WORDS = {
    "n": "-n",
    "temperature": "--temperature",
    "top_p": "--top-p",
    "max_new_tokens": "--max-tokens",
}
_WHY = {"max_new_tokens": " (one note)"}


def check_sampling(sampling: SamplingParams) -> SamplingParams:
    """The user's sampling settings, refused in the words of their options (the limits are
    ``SamplingParams.fault``'s, plus room for one note); a missing seed is drawn."""
    fault = sampling.fault(resolved=False, min_new_tokens=3)
    if fault is not None:
        name, limit = fault
        raise GenerationError(
            f"{_OPTION_WORDS[name]} must be {limit}{_WHY.get(name, '')}, got "
            f"{getattr(sampling, name)}"
        )
    if sampling.seed is None:  # a recorded seed makes every result reproducible
        return SamplingParams(**{**asdict(sampling), "seed": random.randrange(2**31)})
    return sampling


def recommended(
    engine: Engine, sampling: SamplingParams, constraints: Constraints | None = None
) -> tuple[SamplingParams, Constraints]:
    """``sampling`` and ``constraints`` checked, with the model's own temperature, top-p
    and cap on notes at one instant wherever the caller left None."""
    settings = model_settings(engine.model_id)
    sampling = replace(
        sampling,
        temperature=settings.temperature if sampling.temperature is None else sampling.temperature,
        top_p=settings.top_p if sampling.top_p is None else sampling.top_p,
    )
    constraints = constraints or Constraints()
    if constraints.max_onsets_per_instant is None:
        constraints = replace(constraints, max_onsets_per_instant=settings.max_simultaneous)
    return check_sampling(sampling), constraints


def resolve_drawing(project: Project | None, engine: Engine, drawing: Drawing, n: int) -> Drawing:
    """How many to draw (at least n) and how hard to lean: the command's choice, else
    the project's (``best_of``, ``key_lean`` in midicli.toml), else the model's."""
    best_of, lean, band = drawing.best_of, drawing.key_lean, drawing.instrument_lean
    if None in (
        best_of,
        lean,
        band,
    ):  # the project's and the model's settings, read only when needed
        config = project.config if project is not None else ProjectConfig()
        settings = model_settings(engine.model_id)

        def first(*choices: Any) -> Any:
            return next(choice for choice in choices if choice is not None)

        best_of = first(best_of, config.best_of, settings.best_of)
        lean = first(lean, config.key_lean, settings.key_lean)
        band = first(band, config.instrument_lean, settings.instrument_lean)
    if best_of < 1:
        raise GenerationError(f"--best-of must be at least 1, got {best_of}")
    if lean < 0 or band < 0:
        raise GenerationError(
            f"--key-lean and --instrument-lean must be 0 or more, got {lean} and {band}"
        )
    return Drawing(max(best_of, n), lean, band)


Whole = Callable[[Candidate], Piece]


def draw(
    project: Project | None,
    engine: Engine,
    words: str,
    span: Span,
    sampling: SamplingParams,
    constraints: Constraints,
    drawing: Drawing,
    whole: Whole,
    progress: CandidateProgress | None = None,
    silence: bool = False,
) -> list[tuple[Piece, Candidate, Ranking]]:
    """Draw ``best_of`` candidates for the span, rank the whole pieces they make against
    ``words``, and keep the best ``sampling.n`` (drawing order for ties). A candidate
    without notes counts only with ``silence`` (an infill may leave its part resting)."""
    drawing = resolve_drawing(project, engine, drawing, sampling.n)
    if constraints.pitch_bias is None:
        constraints = replace(constraints, pitch_bias=key_lean(words, drawing.key_lean))
    if (
        constraints.instrument_bias is None and constraints.instruments is None
    ):  # an allow-list already chooses
        constraints = replace(
            constraints, instrument_bias=instrument_lean(words, drawing.instrument_lean)
        )
    drawn = write_span(
        engine,
        engine.tokenizer,
        words,
        span,
        replace(sampling, n=drawing.best_of),
        constraints,
        progress,
    )
    drawn = [c for c in drawn if c.notes or silence]
    if not drawn:
        raise GenerationError(
            "the model wrote no notes in any candidate; try another --seed or more --max-tokens"
        )
    pieces = [whole(c) for c in drawn]
    asked = parse_caption(words)
    return [(pieces[i], drawn[i], ranking) for i, ranking in best(pieces, asked, sampling.n)]


def _store(
    project: Project,
    engine: Engine,
    operation: str,
    names: list[str],
    results: list[tuple[Piece, Candidate, Ranking]],
    text: str,
    sampling: SamplingParams,
    constraints: Constraints,
    parent: VersionRecord | None,
    extra: dict[str, Any],
    naming: str = "exact",
) -> list[Created]:
    batch = uuid.uuid4().hex
    params = {
        **asdict(sampling),
        **extra,
        "instruments": sorted(constraints.instruments or []),
        "max_onsets_per_instant": constraints.max_onsets_per_instant,
        "max_instruments": constraints.max_instruments,
        "max_onsets_per_instrument": constraints.max_onsets_per_instrument,
        "max_gap": constraints.max_gap,
    }
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
            timings={
                "seconds": round(c.seconds, 3),
                "tokens": c.tokens,
                "rounds": c.rounds,
                "tokens_per_second": round(c.tokens / c.seconds, 1) if c.seconds else None,
            },
            manifest={
                "prompt_ids": c.prompt_ids,
                "generated_ids": c.generated_ids,
                "finish_reason": c.finish_reason,
                "candidate": index,
                "ranking": asdict(ranking),
                "precision": getattr(engine, "precision", None),
            },  # e.g. "int8 weights, bfloat16"
            batch=batch,
            naming=naming,
        )
        for index, (name, (piece, c, ranking)) in enumerate(zip(names, results))
    ]
    records = project.add_versions(new)
    return [
        Created(record, candidate, ranking)
        for record, (_, candidate, ranking) in zip(records, results)
    ]


def _leans(drawing: Drawing) -> dict[str, Any]:
    """What a version records of how it was drawn."""
    return {
        "best_of": drawing.best_of,
        "key_lean": drawing.key_lean,
        "instrument_lean": drawing.instrument_lean,
    }


def ending_by(notes: list[Note], end: float) -> list[Note]:
    """Notes in time order, any still sounding at ``end`` cut there: a piece asked for
    S seconds lasts S seconds."""
    return sorted(
        (replace(n, duration=min(n.duration, end - n.onset)) for n in notes), key=lambda n: n.onset
    )


def compose(
    project: Project,
    engine: Engine,
    text: str,
    sampling: SamplingParams,
    constraints: Constraints | None = None,
    progress: CandidateProgress | None = None,
    seconds: float = defaults.COMPOSE_SECONDS,
    drawing: Drawing = Drawing(),
) -> list[Created]:
    """n new pieces of about ``seconds`` from a description, named after it
    (``calm-waltz-1``, …): the best n of the candidates drawn."""
    sampling, constraints = recommended(engine, sampling, constraints)
    if not seconds > 0:
        raise GenerationError(f"--seconds must be positive, got {seconds}")
    drawing = resolve_drawing(project, engine, drawing, sampling.n)
    results = draw(
        project,
        engine,
        text,
        Span((), 0.0, seconds),
        sampling,
        constraints,
        drawing,
        lambda c: Piece(ending_by(c.notes, seconds)),
        progress,
    )
    names = [slugify(text) or "piece"] * len(
        results
    )  # stems: numbered as they are stored, under the write lock
    return _store(
        project,
        engine,
        "compose",
        names,
        results,
        text,
        sampling,
        constraints,
        None,
        {"seconds": seconds, **_leans(drawing)},
        NAMING_NUMBERED,
    )


def _text_for(record: VersionRecord, text: str | None) -> str:
    """Continue and infill reuse the piece's description unless given new words."""
    return text if text is not None else (record.text or "")


def _whole(base: Piece, fixed: list[Note], end: float | None = None) -> Whole:
    """How a candidate becomes a whole piece: the fixed notes plus its new ones (cut at ``end``)."""
    return lambda c: base.with_notes(
        sorted(fixed + (ending_by(c.notes, end) if end else c.notes), key=lambda n: n.onset)
    )


def _own_instruments(constraints: Constraints, piece: Piece) -> Constraints:
    """Continue and infill play the piece's instruments unless told which."""
    if constraints.instruments is not None or not piece.notes:
        return constraints
    return replace(constraints, instruments=frozenset(n.instrument for n in piece.notes))


def continue_piece(
    project: Project,
    engine: Engine,
    ref: str,
    seconds: float,
    text: str | None,
    sampling: SamplingParams,
    constraints: Constraints | None = None,
    progress: CandidateProgress | None = None,
    drawing: Drawing = Drawing(),
) -> list[Created]:
    """n sibling versions that extend the piece by ``seconds`` after its last note
    ends, with its instruments unless ``constraints`` name others."""
    sampling, constraints = recommended(engine, sampling, constraints)
    if seconds <= 0:
        raise GenerationError(f"--seconds must be positive, got {seconds}")
    record = project.resolve(ref)
    base = project.load_piece(record)
    constraints = _own_instruments(constraints, base)
    start = base.duration
    span = Span(tuple(base.notes), start, start + seconds)
    words = _text_for(record, text)
    drawing = resolve_drawing(project, engine, drawing, sampling.n)
    results = draw(
        project,
        engine,
        words,
        span,
        sampling,
        constraints,
        drawing,
        _whole(base, list(base.notes), start + seconds),
        progress,
    )
    extra = {"seconds": seconds, "from": start, **_leans(drawing)}
    return _store(
        project,
        engine,
        "continue",
        [record.piece] * len(results),
        results,
        words,
        sampling,
        constraints,
        record,
        extra,
    )


def check_range(piece: Piece, start: float, end: float) -> None:
    """An infill range must be non-empty, start inside the piece and fit one window."""
    if start < 0 or start >= end:
        raise GenerationError(
            f"the infill range must have 0 <= start < end, got {start:g}–{end:g} s"
        )
    if start >= piece.duration:
        raise GenerationError(
            f"the range starts at {start:g} s, after the piece ends ({piece.duration:.2f} s); use "
            "continue"
        )
    if end - start > MAX_SPAN_SECONDS:
        raise GenerationError(
            f"an infill range can be at most {MAX_SPAN_SECONDS:g} s long; infill it in parts"
        )


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
    progress: CandidateProgress | None = None,
    drawing: Drawing = Drawing(),
) -> list[Created]:
    """n sibling versions with [start, end) rewritten: all of it, or one instrument's
    part (the other instruments become anticipated controls, AMT accompaniment); with
    the piece's instruments unless ``constraints`` or ``instrument`` name others."""
    sampling, constraints = recommended(engine, sampling, constraints)
    record = project.resolve(ref)
    base = project.load_piece(record)
    check_range(base, start, end)
    if instrument is not None:
        allowed = constraints.instruments
        if allowed is not None and instrument not in allowed:
            raise GenerationError("--instrument is not in the --instruments allow-list")
        constraints = replace(constraints, instruments=frozenset({instrument}))
    constraints = _own_instruments(constraints, base)

    def rewritten(note: Note) -> bool:
        return start <= note.onset < end and (instrument is None or note.instrument == instrument)

    fixed = [n for n in base.notes if not rewritten(n)]
    words = _text_for(record, text)
    drawing = resolve_drawing(project, engine, drawing, sampling.n)
    results = draw(
        project,
        engine,
        words,
        Span(tuple(fixed), start, end),
        sampling,
        constraints,
        drawing,
        _whole(base, fixed),
        progress,
        silence=True,
    )
    extra = {"start": start, "end": end, "instrument": instrument, **_leans(drawing)}
    return _store(
        project,
        engine,
        "infill",
        [record.piece] * len(results),
        results,
        words,
        sampling,
        constraints,
        record,
        extra,
    )
