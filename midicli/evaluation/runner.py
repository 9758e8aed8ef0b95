"""Generating and scoring the three columns of ``midicli eval``.

- ``real``: each prompt's reference piece against its own caption (what perfect text
  control and real music look like under these measurements);
- ``model``: the model's outputs for each caption;
- ``shuffled``: the same generation (same seeds) from another prompt's caption, still
  scored against the original caption and reference: the no-text-control baseline.

Outputs are MIDI files in a folder of the caller's choosing; no project is touched.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from midicli import defaults
from midicli.engines.base import Engine, SamplingParams
from midicli.errors import BadMidiError, GenerationError
from midicli.evaluation.metrics import Column, Scored, score, summarize
from midicli.evaluation.prompts import Prompt
from midicli.generation.operations import Drawing, draw, ending_by, recommended
from midicli.generation.span import Span
from midicli.music.analysis import Features, features
from midicli.music.captions import Requested, parse_caption
from midicli.music.midi_io import read_midi, write_midi
from midicli.music.musicality import musicality
from midicli.music.piece import Piece

COLUMNS = ("real", "model", "shuffled")

# (generation rounds done, rounds in all)
RoundProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class Output:
    """One scored piece: which prompt it answers, the caption it was made from, its file."""

    prompt: int
    column: str
    caption: str
    path: Path | None
    scored: Scored


@dataclass
class Evaluation:
    prompts: list[Prompt]
    outputs: list[Output]
    columns: dict[str, Column]
    shuffle: list[int] | None  # prompt i was shuffled onto the caption of prompt shuffle[i]

    def to_json(self, keep_paths: bool = True) -> dict[str, Any]:
        """Everything measured; ``keep_paths=False`` leaves out the files of a temporary folder."""

        def shown(output: Output) -> str | None:
            kept = keep_paths or output.column == "real"
            return str(output.path) if output.path and kept else None

        return {
            "prompts": len(self.prompts),
            "columns": {name: asdict(column) for name, column in self.columns.items()},
            "shuffle": self.shuffle,
            "outputs": [
                {
                    "prompt": o.prompt,
                    "column": o.column,
                    "caption": o.caption,
                    "path": shown(o),
                    "valid": o.scored.valid,
                    "pitch_class_distance": o.scored.pitch_class_distance,
                    "adherence": asdict(o.scored.adherence) if o.scored.adherence else None,
                    "features": asdict(o.scored.features) if o.scored.features else None,
                    "musicality": asdict(o.scored.musicality) if o.scored.musicality else None,
                }
                for o in self.outputs
            ],
        }


def derangement(count: int, seed: int) -> list[int] | None:
    """A fixed random order in which no prompt keeps its own caption (None under 2 prompts)."""
    if count < 2:
        return None
    chooser = random.Random(seed)
    order = list(range(count))
    while any(i == j for i, j in enumerate(order)):
        chooser.shuffle(order)
    return order


def _read(path: Path) -> Piece | None:
    """A written output, read back as any user would; None if it does not read."""
    try:
        return read_midi(path)
    except BadMidiError:
        return None


def _scored(
    asked: Requested, piece: Piece | None, reference: Features | None, real: bool = False
) -> Scored:
    """Text control and musicality of one piece (None: no valid music); a ``real``
    piece is its own reference."""
    if piece is None or not piece.notes:
        return score(asked, None, reference)
    measured = features(piece)
    heard = musicality(piece, measured.tempo_bpm, measured.beats_per_bar)
    return score(asked, measured, measured if real else reference, heard)


def evaluate(
    engine: Engine,
    prompts: list[Prompt],
    sampling: SamplingParams,
    out_dir: Path,
    progress: RoundProgress | None = None,
    seconds: float = defaults.COMPOSE_SECONDS,
    drawing: Drawing = Drawing(),
) -> Evaluation:
    """Score the reference pieces, then compose ``sampling.n`` outputs per prompt, as
    ``compose`` does (``seconds`` long, the best of ``drawing.best_of`` ranked by the
    words given), with its caption and with a shuffled one into ``out_dir/model`` and
    ``out_dir/shuffled``."""
    sampling, limits = recommended(engine, sampling)
    asked = [parse_caption(p.caption) for p in prompts]
    outputs = [
        Output(
            i,
            "real",
            p.caption,
            p.reference,
            _scored(asked[i], read_midi(p.reference), None, real=True),
        )
        for i, p in enumerate(prompts)
        if p.reference is not None
    ]
    real = {o.prompt: o.scored.features for o in outputs}
    order = derangement(len(prompts), sampling.seed)
    jobs = [("model", i, i) for i in range(len(prompts))] + [
        ("shuffled", i, j) for i, j in enumerate(order or [])
    ]
    for done, (column, i, source) in enumerate(jobs):
        if progress is not None:
            progress(done, len(jobs))
        words = prompts[source].caption
        seeded = replace(sampling, seed=sampling.seed + i)  # both columns share a prompt's seed
        try:
            kept = draw(
                None,
                engine,
                words,
                Span((), 0.0, seconds),
                seeded,
                limits,
                drawing,
                lambda c: Piece(ending_by(c.notes, seconds)),
            )
        except GenerationError:  # no notes at all: every output counts as invalid
            kept = []
        folder = out_dir / column
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(sampling.n):
            path, piece = None, None
            if k < len(kept):
                path = folder / f"{i + 1:03d}-{k + 1}.mid"
                write_midi(kept[k][0], path)
                piece = _read(path)
            outputs.append(Output(i, column, words, path, _scored(asked[i], piece, real.get(i))))
    if progress is not None:
        progress(len(jobs), len(jobs))
    columns = {name: summarize([o.scored for o in outputs if o.column == name]) for name in COLUMNS}
    return Evaluation(prompts, outputs, columns, order)
