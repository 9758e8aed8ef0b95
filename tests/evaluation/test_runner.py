"""Generating the columns of `midicli eval` with the tiny scaffold model (random
weights: the structure is checked, not the music)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import AMT_FIXTURES

from midicli.engines.base import SamplingParams
from midicli.engines.pool import open_engine
from midicli.evaluation.prompts import Prompt
from midicli.evaluation.runner import derangement, evaluate
from midicli.music.analysis import features
from midicli.music.captions import caption
from midicli.music.midi_io import read_midi


def test_shuffled_captions_never_stay_with_their_prompt() -> None:
    for count in range(2, 9):
        order = derangement(count, seed=3)
        assert sorted(order) == list(range(count)) and all(i != j for i, j in enumerate(order))
        assert derangement(count, seed=3) == order  # the same seed, the same baseline
    assert derangement(1, seed=0) is None


def test_three_columns_from_one_prompt_set(tiny_model_dir: Path, tmp_path: Path) -> None:
    references = [AMT_FIXTURES / "bach_bwv66_6.mid", AMT_FIXTURES / "edge_drums_tempo_change.mid"]
    prompts = [Prompt(caption(features(read_midi(path))), path) for path in references] + [
        Prompt("A calm piano waltz")
    ]
    engine = open_engine("transformers", str(tiny_model_dir), device="cpu")
    done: list[tuple[int, int]] = []
    result = evaluate(
        engine,
        prompts,
        SamplingParams(n=2, max_new_tokens=12, seed=5),
        tmp_path,
        lambda d, t: done.append((d, t)),
    )

    real = result.columns["real"]
    assert real.pieces == 2  # the third prompt has no reference piece
    assert (
        real.key_accuracy,
        real.instrument_recall,
        real.tempo_agreement,
        real.time_signature_agreement,
    ) == (1.0, 1.0, 1.0, 1.0)
    assert [result.columns[c].pieces for c in ("model", "shuffled")] == [6, 6]
    assert done[-1] == (6, 6)  # 3 prompts × 2 columns of generation

    shuffled = [o for o in result.outputs if o.column == "shuffled"]
    for output in shuffled:
        assert (
            output.caption
            == prompts[result.shuffle[output.prompt]].caption
            != prompts[output.prompt].caption
        )
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.mid"))
    assert written == sorted(
        o.path.relative_to(tmp_path).as_posix()
        for o in result.outputs
        if o.column != "real" and o.path
    )
    assert all(o.scored.valid == (o.path is not None) for o in result.outputs)
    assert result.to_json(keep_paths=False)["outputs"][-1]["path"] is None

    # Musicality beside text control, in every column: real chorales are the target range.
    assert real.duplicate_share < 0.1 and real.large_clusters == 0 and real.long_silences == 0
    assert real.horizon_piles == 0 and real.scale_consistency > 0.6
    model = result.columns["model"]
    assert (
        model.long_silences == 0 and model.horizon_piles == 0 and model.duplicate_share == 0
    )  # the grammar's work
    assert all(
        o.scored.musicality.notes == len(read_midi(o.path).notes)
        for o in result.outputs
        if o.path and o.column != "real"
    )


def test_the_musicality_of_broken_music_shows_in_its_column() -> None:
    from midicli.evaluation.metrics import score, summarize
    from midicli.music.captions import parse_caption
    from midicli.music.musicality import musicality
    from midicli.music.piece import Note, Piece

    piled = Piece(
        [Note(99.99, 0.01, 40 + p) for p in range(14)] + [Note(0.0, 1.0, 60), Note(0.0, 1.0, 60)]
    )
    measured = features(piled)
    column = summarize(
        [score(parse_caption("A piece."), measured, None, musicality(piled, measured.tempo_bpm))]
    )
    assert (
        column.large_clusters == 1.0 and column.long_silences == 1.0 and column.horizon_piles == 1.0
    )
    assert column.duplicate_share == 1 / 16


def test_sampling_is_checked_before_anything_runs(tiny_model_dir: Path, tmp_path: Path) -> None:
    from midicli.errors import GenerationError

    engine = open_engine("transformers", str(tiny_model_dir), device="cpu")
    with pytest.raises(GenerationError, match="at least 1"):
        evaluate(engine, [Prompt("a waltz")], SamplingParams(n=0), tmp_path)
    assert not any(tmp_path.iterdir())
