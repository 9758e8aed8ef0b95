"""compose / continue / infill from the command line with the tiny scaffold model:
references printed as promised, and bad requests refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import AMT_FIXTURES, files_under

from midicli.defaults import MINI_MODEL_DIR
from midicli.project import Project


@pytest.fixture
def studio(cli, tiny_model_dir: Path):
    """A project holding the Bach chorale, with the tiny model passed on every call."""
    cli("import", str(AMT_FIXTURES / "bach_bwv66_6.mid"), "--name", "chorale")
    return cli, ["--model", str(tiny_model_dir), "--max-tokens", "45", "--seed", "1"]


def test_compose_prints_the_created_references_as_json(studio) -> None:
    cli, model = studio
    out = cli.json("compose", "A calm piano waltz", "-n", "2", *model)
    assert out["created"] == ["calm-piano-waltz-1@1", "calm-piano-waltz-2@1"]
    assert [c["ref"] for c in out["candidates"]] == out["created"]
    assert all(
        c["notes"] > 0 and c["operation"] == "compose" and c["seed"] == 1 for c in out["candidates"]
    )
    table = cli("compose", "A calm piano waltz", "-n", "1", *model).stdout
    assert "calm-piano-waltz-3@1" in table and "score" in table and "tok/s" in table


def test_continue_and_infill_add_versions_to_the_piece(studio) -> None:
    cli, model = studio
    assert cli.json("continue", "chorale", "--seconds", "80", "-n", "2", *model)["created"] == [
        "chorale@2",
        "chorale@3",
    ]
    assert cli.json("infill", "chorale@1", "--start", "2b", "--end", "4b", *model)["created"] == [
        "chorale@4"
    ]
    history = cli.json("history", "chorale")
    assert [(v["ref"], v["operation"], v["parent"]) for v in history] == [
        ("chorale@1", "import", None),
        ("chorale@2", "continue", "chorale@1"),
        ("chorale@3", "continue", "chorale@1"),
        ("chorale@4", "infill", "chorale@1"),
    ]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["infill", "chorale", "--start", "8", "--end", "4"], "start < end"),
        (["infill", "chorale", "--start", "30", "--end", "40"], "after the piece ends"),
        (
            ["infill", "chorale", "--start", "1", "--end", "4", "--instrument", "kazoo orchestra"],
            "kazoo",
        ),
        (["compose", "waltz", "--instruments", "piano,theremin-ish"], "theremin"),
        (["compose", "waltz", "-n", "0"], "at least 1"),
        (["continue", "chorale", "--seconds", "-3"], "length"),
        (["infill", "chorale", "--start", "bar nine", "--end", "4"], "bar nine"),
        (["continue", "nothing-here"], "no piece named"),
    ],
    ids=[
        "start after end",
        "outside the piece",
        "unknown instrument",
        "unknown allow-list",
        "n < 1",
        "negative length",
        "bad time",
        "missing piece",
    ],
)
def test_bad_requests_are_one_line_and_write_nothing(studio, args: list[str], words: str) -> None:
    cli, model = studio
    before = files_under(cli.root)
    assert words in cli.fails(*args, *model)
    assert files_under(cli.root) == before


def test_a_folder_that_is_not_a_model_is_refused(studio, tmp_path: Path) -> None:
    cli, _ = studio
    (tmp_path / "not-a-model").mkdir()
    (tmp_path / "not-a-model" / "readme.txt").write_text("hello")
    before = files_under(cli.root)
    assert "not-a-model" in cli.fails("compose", "waltz", "--model", str(tmp_path / "not-a-model"))
    assert files_under(cli.root) == before


def test_a_project_without_a_model_composes_with_the_default_one(studio) -> None:
    cli, _ = studio
    with Project.open(cli.root) as project:
        project.config.model = None
        project.save_config()
    (ref,) = cli.json(
        "compose",
        "A baroque chorale piece featuring church organ.",
        "-n",
        "1",
        "--max-tokens",
        "30",
    )["created"]
    assert cli.json("show", ref)["model"] == str(MINI_MODEL_DIR)  # no GPU here: the bundled mini


def test_a_prompts_file_composes_every_line(studio, tmp_path: Path) -> None:
    cli, model = studio
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("A slow organ chorale\n\nFast jazz drums\n")
    created = cli.json(
        "compose", "--prompts-file", str(prompts), "-n", "2", "--dtype", "float32", *model
    )["created"]
    assert created == [
        "slow-organ-chorale-1@1",
        "slow-organ-chorale-2@1",
        "fast-jazz-drums-1@1",
        "fast-jazz-drums-2@1",
    ]


def test_compose_can_render_every_candidate(studio) -> None:
    cli, model = studio
    created = cli.json("compose", "A sad cello solo", "-n", "2", "--render", "wav", *model)[
        "created"
    ]
    for ref in created:
        name, version = ref.split("@")
        wav = cli.root / "pieces" / name / f"v{version}.wav"
        assert wav.is_file() and wav.stat().st_size > 44  # more than a WAV header


def test_a_quantized_model_composes_and_the_version_records_its_precision(studio) -> None:
    cli, model = studio
    (ref,) = cli.json("compose", "A calm piano waltz", "-n", "1", "--quantize", "int8", *model)[
        "created"
    ]
    (plain,) = cli.json("compose", "A calm piano waltz", "-n", "1", *model)["created"]
    with Project.open(cli.root) as project:
        assert project.resolve(ref).manifest["precision"] == "int8 weights, bfloat16"
        assert (
            project.resolve(plain).manifest["precision"] == "float32"
        )  # tiny: auto leaves small models alone
    assert cli.json("show", ref)["precision"] == "int8 weights, bfloat16"  # what a user sees
    assert "int8 weights, bfloat16" in cli("show", ref).stdout


def test_an_unknown_quantization_is_one_line_and_writes_nothing(studio) -> None:
    cli, model = studio
    before = files_under(cli.root)
    assert "int3" in cli.fails("compose", "waltz", "--quantize", "int3", *model)
    assert files_under(cli.root) == before
