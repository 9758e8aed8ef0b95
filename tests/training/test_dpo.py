"""tune on the tiny scaffold: an interrupted run really resumes from its checkpoint,
changed settings are not silently mixed into it, and too little data is refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from midicli.engines.base import SamplingParams
from midicli.engines.pool import open_engine
from midicli.errors import TuningError
from midicli.generation import operations
from midicli.project import Project, preferences
from midicli.training.dpo import TuneSettings, tune
from midicli.training.run import TrainEvent

SMALL = TuneSettings(epochs=1, batch_size=1, holdout=0.0, max_length=256, learning_rate=1e-3)


@pytest.fixture
def judged(tmp_path: Path, tiny_model_dir: Path):
    """Six pairs: two requests of four candidates, the first of each picked."""
    with Project.init(tmp_path / "album", model=str(tiny_model_dir)) as project:
        engine = open_engine("transformers", str(tiny_model_dir), device="cpu")
        for seed in (1, 2):
            created = operations.compose(
                project, engine, "A calm waltz", SamplingParams(n=4, max_new_tokens=24, seed=seed)
            )
            preferences.pick(project, created[0].record.ref)
        yield project


class Interrupt:
    """Records progress and stops the run like a Ctrl-C after step ``at``."""

    def __init__(self, at: int | None = None) -> None:
        self.at, self.steps = at, []

    def __call__(self, event: TrainEvent) -> None:
        if event.stage == "training":
            self.steps.append((event.step, event.resumed_at))
            if event.step == self.at:
                raise KeyboardInterrupt


def weights(project: Project, name: str) -> dict[str, torch.Tensor]:
    return load_file(project.root / "adapters" / name / "adapter_model.safetensors")


def test_an_interrupted_run_resumes_from_its_last_checkpoint(judged: Project) -> None:
    first = Interrupt(at=3)
    with pytest.raises(KeyboardInterrupt):
        tune(judged, "resumed", SMALL, save_steps=2, progress=first)
    run = judged.root / "adapters" / ".resumed.run"
    assert first.steps == [(1, 0), (2, 0), (3, 0)] and (run / "checkpoint-2").is_dir()
    assert judged.adapters() == []

    again = Interrupt()
    record = tune(judged, "resumed", SMALL, save_steps=2, progress=again)
    assert again.steps == [(3, 2), (4, 2), (5, 2), (6, 2)]  # on from step 2, not from the start
    assert (record.metrics["steps"], record.metrics["resumed_at"]) == (6, 2) and not run.exists()

    uninterrupted = tune(judged, "straight", SMALL, save_steps=2)
    assert uninterrupted.metrics["resumed_at"] == 0
    resumed, straight = weights(judged, "resumed"), weights(judged, "straight")
    assert resumed.keys() == straight.keys()
    assert all(
        torch.allclose(resumed[k], straight[k], atol=1e-5) for k in resumed
    )  # the same training, in two parts


def test_a_resumed_run_must_keep_its_settings_or_restart(judged: Project) -> None:
    with pytest.raises(KeyboardInterrupt):
        tune(judged, "warm", SMALL, save_steps=2, progress=Interrupt(at=2))
    with pytest.raises(TuningError, match=r"used other settings \(beta\).*--restart"):
        tune(judged, "warm", replace(SMALL, beta=0.5), save_steps=2)
    fresh = Interrupt()
    tune(judged, "warm", replace(SMALL, beta=0.5), save_steps=2, restart=True, progress=fresh)
    assert fresh.steps[0] == (1, 0)


def test_too_few_usable_pairs_is_a_clear_error(judged: Project) -> None:
    for p in judged.preferences()[1:]:
        judged.remove_preference(p.id)
    with pytest.raises(TuningError, match="at least 2 usable preference pairs, this project has 1"):
        tune(judged, "thin", SMALL)
    with pytest.raises(
        TuningError, match=r"this project has 0 \(1 made by another model left out\)"
    ):
        tune(judged, "thin", SMALL, model=str(judged.root))  # any other folder hashes differently
