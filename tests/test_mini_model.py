"""The bundled ``mini`` model: it ships with the package, says how it was made (the
recipe in the repository), is what a new project on a machine without a GPU composes
with offline, and what a caption asks for moves what it plays."""

from __future__ import annotations

import json
import tomllib
import wave
from pathlib import Path

import numpy as np
import pytest
import torch
from support import REPO
from typer.testing import CliRunner

from midicli import defaults
from midicli.cli.main import app
from midicli.engines.models import LoadedModel, default_model, load_model, resolve_model
from midicli.generation.prompt import build_prompt, text_ids
from midicli.music.instruments import instrument_name
from midicli.music.midi_io import read_midi
from midicli.tokenizers.vocab import DUR_OFFSET, MAX_PITCH, NOTE_OFFSET, TIME_OFFSET

MINI = Path(defaults.MINI_MODEL_DIR)
ORGAN, CHOIR, FIDDLE, FLUTE = 19, 52, 110, 73


@pytest.fixture(scope="module")
def mini() -> LoadedModel:
    return load_model("mini", device="cpu")


def test_mini_ships_small_and_was_made_by_the_recipe_in_the_repository() -> None:
    assert resolve_model("mini") == str(MINI)
    assert sum(p.stat().st_size for p in MINI.iterdir()) <= 40e6
    record = json.loads((MINI / "training.json").read_text(encoding="utf-8"))
    recipe = tomllib.loads((REPO / "recipes" / "mini.toml").read_text(encoding="utf-8"))
    assert record["recipe"] == recipe  # retraining with the recipe remakes this model
    assert (
        record["metrics"]["validation_loss"]["end"]
        < record["metrics"]["validation_loss"]["start"] / 2
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="with a CUDA GPU the default is midi-llm")
def test_a_new_project_without_a_gpu_composes_with_mini_offline(tmp_path: Path) -> None:
    assert default_model() == "mini"
    runner, root = CliRunner(), tmp_path / "demo"
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    assert 'model = "mini"' in (root / "midicli.toml").read_text(encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "-C",
            str(root),
            "compose",
            "A baroque chorale piece featuring church organ.",
            "-n",
            "2",
            "--max-tokens",
            "300",
            "--seed",
            "1",
            "--render",
            "wav",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    for ref in json.loads(result.stdout)["created"]:
        name, version = ref.split("@")
        assert len(read_midi(root / "pieces" / name / f"v{version}.mid").notes) >= 20
        with wave.open(str(root / "pieces" / name / f"v{version}.wav")) as audio:
            samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
        assert np.abs(samples).max() > 1000  # it sounds


def first_note(model: LoadedModel, caption: str) -> torch.Tensor:
    """The model's probabilities for the first note (instrument × pitch) after the
    caption, given that it starts at time 0 and lasts half a second."""
    ids = build_prompt(
        text_ids(model.tokenizer, caption), model.text_vocab_size, [TIME_OFFSET, DUR_OFFSET + 50]
    )
    with torch.no_grad():
        logits = model.model(torch.tensor([ids])).logits[0, -1].float()
    start = model.text_vocab_size + NOTE_OFFSET
    notes = torch.softmax(logits, -1)[start : start + 129 * MAX_PITCH]
    return (notes / notes.sum()).reshape(129, MAX_PITCH)


@pytest.mark.parametrize(
    ("genre", "one", "other"),
    [("A baroque chorale piece", ORGAN, CHOIR), ("An Irish folk piece", FIDDLE, FLUTE)],
)
def test_the_instrument_a_caption_names_is_the_one_mini_plays(
    mini: LoadedModel, genre: str, one: int, other: int
) -> None:
    """Within one style, only the instrument's name tells the two captions apart."""

    def share(asked: int, played: int) -> float:
        return float(
            first_note(mini, f"{genre} featuring {instrument_name(asked).lower()}.")[played].sum()
        )

    assert share(one, one) > 2 * share(other, one) and share(other, other) > 2 * share(one, other)
    assert share(one, one) > 0.3 and share(other, other) > 0.3


@pytest.mark.xfail(
    strict=True,
    reason=(
        "mini's own first note does not favour the key's triad yet; the key lean applied while "
        "sampling does that (MODEL_CARD.md)"
    ),
)
@pytest.mark.parametrize(("tonic", "pitch_class"), [("D", 2), ("Eb", 3), ("G", 7), ("Bb", 10)])
def test_the_key_a_caption_names_is_the_key_mini_plays_in(
    mini: LoadedModel, tonic: str, pitch_class: int
) -> None:
    def triad_share(key: str, root: int) -> float:
        caption = (
            f"A classical piece featuring string ensemble. Set in the key of {key} major with a "
            "4/4 time signature."
        )
        by_pitch_class = first_note(mini, caption).sum(0).reshape(-1)
        classes = torch.zeros(12)
        classes.index_add_(0, torch.arange(MAX_PITCH) % 12, by_pitch_class)
        return float(classes[[root % 12, (root + 4) % 12, (root + 7) % 12]].sum())

    other = (pitch_class + 6) % 12  # a tritone away: the triads share no note
    other_key = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")[other]
    assert triad_share(tonic, pitch_class) > triad_share(other_key, pitch_class) + 0.2
