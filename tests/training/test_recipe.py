"""The recipe kept in the repository says how the bundled mini model is made; anyone
can read it, check it, and rerun it with one command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from support import REPO, SMALL_RECIPE
from transformers import LlamaForCausalLM

from midicli.engines.scaffold import SHAPES, build_text_tokenizer, scaffold_config
from midicli.training import TrainingError
from midicli.training.recipe import load_recipe, run_recipe
from midicli.training.run import TrainEvent, run_dir
from midicli.training.train import RECORD_FILE

MINI = REPO / "recipes" / "mini.toml"


def test_the_mini_recipe_makes_a_small_fast_model_from_free_music() -> None:
    recipe = load_recipe(MINI)
    shape = recipe.start.shape
    assert recipe.name == "mini" and recipe.source == "music21" and shape is not None
    with torch.device("meta"):
        model = LlamaForCausalLM(scaffold_config(shape, build_text_tokenizer()))
    megabytes = (
        2 * sum(p.numel() for p in model.parameters()) / 1e6
    )  # bfloat16, tied head counted once
    assert megabytes <= 40
    assert shape.hidden // shape.heads >= 32  # vLLM's CPU attention kernels need it
    assert (
        recipe.build.chunk_tokens + 100 <= recipe.settings.max_length <= shape.max_positions
    )  # room for the caption
    assert shape.max_positions >= 2048  # a full-length composition fits
    assert recipe.settings.transpose > 0  # keys come from the caption, not the genre
    assert recipe.build.copies > 1  # it learns infilling too
    from midicli.training.music21_corpus import COLLECTIONS

    assert all(
        COLLECTIONS[c].rights.startswith("public domain") for c in recipe.collections or COLLECTIONS
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_recipe_names_a_folder_relative_to_itself_and_a_named_size(tmp_path: Path) -> None:
    recipe = load_recipe(
        write(
            tmp_path,
            '[dataset]\nsource = "midi"\naugment = 2\n[model]\nsize = "tiny"\n[train]\nmax_steps = '
            "5\n",
        )
    )
    assert recipe.source == str(tmp_path / "midi") and recipe.build.copies == 2
    assert (
        recipe.start.shape == SHAPES["tiny"]
        and recipe.settings.max_steps == 5
        and recipe.name == "recipe"
    )


def test_a_recipe_can_start_from_an_existing_model_with_lora(tmp_path: Path) -> None:
    recipe = load_recipe(
        write(tmp_path, '[model]\nfrom = "midi-llm"\nmethod = "lora"\nlora_rank = 8\n')
    )
    assert (recipe.start.model, recipe.start.method, recipe.start.lora_rank) == (
        "midi-llm",
        "lora",
        8,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[dataset]\nchunk_token = 100\n", r"unknown key chunk_token in \[dataset\]"),
        ("[train]\nlr = 1\n[model]\nsize='tiny'\n", r"unknown key lr in \[train\]"),
        (
            "[model]\nhidden = 64\n",
            r"needs from, size, or the shape \(heads, kv_heads, layers, mlp, text_vocab missing\)",
        ),
        ("[model]\nsize = 'huge'\n", "size must be one of tiny, 1b"),
        ("name = \n", "not valid TOML"),
        (
            "[model]\nsize = 'tiny'\n[finish]\nwhole = false\n",
            "--openings-only draws the openings: give --openings 1",
        ),
        ("[model]\nsize = 'tiny'\n[finish]\nopening = 4\n", r"unknown key opening in \[finish\]"),
    ],
)
def test_mistakes_in_a_recipe_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        load_recipe(write(tmp_path, text))


def test_a_missing_recipe_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no recipe file"):
        load_recipe(tmp_path / "nope.toml")


def test_a_value_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="recipe.toml: a value has the wrong type"):
        load_recipe(write(tmp_path, '[model]\nsize = "tiny"\n[train]\nbatch_size = "eight"\n'))


TWO_PASSES = (
    SMALL_RECIPE
    + """[train]
max_steps = 4
batch_size = 2
max_length = 256
save_steps = 2
eval_steps = 100
logging_steps = 1
[finish]
max_steps = 4
learning_rate = 1e-3
batch_size = 4
max_length = 256
openings = 1
whole = false
opening_notes = 2
save_steps = 2
eval_steps = 100
logging_steps = 1
"""
)


def test_a_recipe_with_a_finish_interrupted_in_its_second_pass_goes_on_there(
    midi_folder: Path, tmp_path: Path
) -> None:
    recipe = load_recipe(write(tmp_path, TWO_PASSES))
    out = tmp_path / "model"

    def stop_in_the_finish(event: TrainEvent) -> None:
        if event.stage == "finishing" and event.step >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_recipe(recipe, out, "cpu", train_progress=stop_in_the_finish)
    first_record = run_dir(out) / "first" / RECORD_FILE
    first = json.loads(first_record.read_text(encoding="utf-8"))
    assert first["metrics"]["steps"] == 4 and not out.exists()
    first["stopped"] = {
        "step": 4,
        "of": 8,
        "why": "taken early",
    }  # a first pass cut short: the final record says so
    first_record.write_text(json.dumps(first), encoding="utf-8")

    stages: list[str] = []
    record = run_recipe(
        recipe, out, "cpu", resume=True, train_progress=lambda event: stages.append(event.stage)
    )
    assert "training" not in stages and "finishing" in stages  # the first pass was not done again
    assert (
        record["first"] == {key: first[key] for key in ("settings", "metrics", "stopped")}
        and record["start"] == first["start"]
    )
    assert (record["metrics"]["resumed_at"], record["metrics"]["steps"]) == (2, 4)
    assert (
        not record["settings"]["whole"]
        and (out / RECORD_FILE).is_file()
        and not run_dir(out).exists()
    )
