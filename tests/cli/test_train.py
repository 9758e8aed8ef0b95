"""dataset and train from the command line: a user builds a dataset from their MIDI
folder or music21's corpus, and one command with a recipe makes a model that the
project then composes with."""

from __future__ import annotations

import re
from pathlib import Path

from support import FIXTURE_MIDIS, REPO

from midicli.engines.models import load_model
from midicli.music.midi_io import read_midi
from midicli.project import Project

MINI = REPO / "recipes" / "mini.toml"
SMALL = {
    "name": '"small"',
    "collections": '["bach", "ryansMammoth"]',
    "limit": "4",
    "chunk_tokens": "150",
    "validation": "0.25",
    "test": "0",
    "max_length": "320",
    "batch_size": "4",
    "learning_rate": "3e-3",
    "warmup": "0",
    "eval_steps": "6",
    "save_steps": "6",
    "logging_steps": "1",
}


def small_mini_recipe() -> str:
    """The bundled model's own recipe (its shape, augmentation and transposition) cut
    down to four works, short chunks and a few steps."""
    text = MINI.read_text(encoding="utf-8")
    for key, value in SMALL.items():
        text, found = re.subn(
            rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.MULTILINE
        )
        assert found, f"{key} is no longer in {MINI.name}"
    return text


SMALL_RECIPE = small_mini_recipe()


def midi_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "midi"
    folder.mkdir()
    for path in FIXTURE_MIDIS:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "captions.csv").write_text(
        "file,caption\nstrawberry.mid,A cheerful pop song\n", encoding="utf-8"
    )
    return folder


def test_a_dataset_built_from_a_folder_is_summarised_and_shown_again(cli, tmp_path: Path) -> None:
    out = tmp_path / "data"
    built = cli.json(
        "dataset",
        "build",
        str(out),
        "--from",
        str(midi_folder(tmp_path)),
        "--chunk-tokens",
        "300",
        "--validation",
        "0.25",
        "--test",
        "0",
    )
    assert (
        built["source"]["captions"].endswith("captions.csv")
        and built["settings"]["chunk_tokens"] == 300
    )
    assert (
        built["splits"]["train"]["pieces"] + built["splits"]["validation"]["pieces"] == 4
    )  # one piece is too short
    assert [s["name"] for s in built["skipped"]] == ["edge_long_notes.mid"]
    assert cli.json("dataset", "show", str(out)) == built
    table = cli("dataset", "show", str(out)).stdout
    assert "validation" in table and "music tokens" in table
    assert "exists already" in cli.fails(
        "dataset", "build", str(out), "--from", str(tmp_path / "midi")
    )


def test_dataset_build_needs_exactly_one_source(cli, tmp_path: Path) -> None:
    assert "--from FOLDER or --from-music21" in cli.fails("dataset", "build", str(tmp_path / "d"))
    assert "--from FOLDER or --from-music21" in cli.fails(
        "dataset", "build", str(tmp_path / "d"), "--from", str(tmp_path), "--from-music21"
    )
    assert "add --from-music21" in cli.fails(
        "dataset", "build", str(tmp_path / "d"), "--from", str(tmp_path), "--collections", "bach"
    )
    assert "no music21 collection nope" in cli.fails(
        "dataset", "build", str(tmp_path / "d"), "--from-music21", "--collections", "nope"
    )
    assert not (tmp_path / "d").exists()


def test_the_music21_collections_are_listed_with_their_terms(cli) -> None:
    listed = {c["name"]: c for c in cli.json("dataset", "collections")}
    assert listed["bach"]["works"] > 400 and listed["bach"]["genre_words"] == ["baroque chorale"]
    assert "non-commercial" in listed["essenFolksong"]["rights"]


def test_train_says_what_it_needs(cli, tmp_path: Path) -> None:
    model = str(tmp_path / "model")
    assert "say what to train" in cli.fails("train", model)
    assert "say what to train" in cli.fails(
        "train", model, "--dataset", str(tmp_path), "--size", "tiny", "--from", "x"
    )
    recipe = tmp_path / "r.toml"
    recipe.write_text(SMALL_RECIPE, encoding="utf-8")
    assert "a recipe names the dataset and the model" in cli.fails(
        "train", model, "--recipe", str(recipe), "--size", "tiny"
    )
    assert "is not a dataset" in cli.fails(
        "train", model, "--dataset", str(tmp_path), "--size", "tiny"
    )
    assert "--transpose is a number of semitones from 0 to 12" in cli.fails(
        "train", model, "--recipe", str(recipe), "--transpose", "13"
    )
    assert not (tmp_path / ".model.run").exists()  # nothing to resume from: nothing kept


def test_one_command_with_a_recipe_makes_a_model_the_project_composes_with(
    cli, tmp_path: Path
) -> None:
    recipe = tmp_path / "small.toml"
    recipe.write_text(SMALL_RECIPE, encoding="utf-8")
    out = tmp_path / "models" / "small"
    record = cli.json("train", str(out), "--recipe", str(recipe), "--max-steps", "12")
    m = record["metrics"]
    assert (
        record["settings"]["max_steps"] == 12 and m["steps"] == 12
    )  # the option replaced the recipe's value
    assert record["settings"]["transpose"] == 5  # drawn in random keys, as the bundled model was
    assert (
        record["keys"]["metrics"]["steps"] > 0
    )  # and given the key lesson last, as the bundled model was
    assert record["dataset"]["source"]["collections"] == ["bach", "ryansMammoth"]
    assert (
        record["dataset"]["splits"]["validation"]["pieces"] == 1
        and record["recipe"]["name"] == "small"
    )
    assert m["validation_loss"]["end"] < m["validation_loss"]["start"]
    assert m["train_loss"]["last"] < m["train_loss"]["first"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["small"]  # the run folder is gone

    assert load_model(out, device="cpu").text_vocab_size == 1024
    with Project.open(cli.root) as project:
        project.config.model = str(out)
        project.save_config()
    created = cli.json(
        "compose",
        "A baroque chorale piece featuring church organ",
        "-n",
        "1",
        "--max-tokens",
        "60",
        "--seed",
        "1",
    )["created"]
    cli("export", created[0], str(tmp_path / "chorale.mid"))
    assert read_midi(tmp_path / "chorale.mid").notes
    assert "exists already" in cli.fails("train", str(out), "--recipe", str(recipe))
