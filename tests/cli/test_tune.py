"""tune and adapters from the command line: too little data is a clear error; a tuned
adapter is listed, chosen per command or as the project default, and recorded on the
versions it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from midicli.cli.main import app
from midicli.project import Project


@pytest.fixture
def judged(cli, tiny_model_dir: Path):
    """A project on the tiny model; ``judge(seed)`` composes 3 candidates and picks the first."""
    with Project.open(cli.root) as project:
        project.config.model = str(tiny_model_dir)
        project.save_config()

    def judge(seed: int) -> list[str]:
        refs = cli.json(
            "compose", "A calm piano waltz", "-n", "3", "--max-tokens", "30", "--seed", str(seed)
        )["created"]
        cli("pick", refs[0])
        return refs

    return cli, judge


def test_tune_needs_two_usable_pairs(judged) -> None:
    cli, judge = judged
    assert "at least 2 usable preference pairs, this project has 0" in cli.fails("tune", "first")
    judge(1)  # two pairs, then one
    cli("prefs", "rm", str(cli.json("prefs")[0]["id"]))
    assert "this project has 1: record more with `midicli pick REF`" in cli.fails("tune", "first")


def test_a_tuned_adapter_is_used_by_name_or_by_default_and_recorded(judged) -> None:
    cli, judge = judged
    judge(1), judge(2)
    adapter = cli.json("tune", "warm", "--epochs", "1", "--holdout", "0.5", "--max-length", "256")
    assert (adapter["name"], adapter["method"], adapter["path"]) == (
        "warm",
        "lora",
        "adapters/warm",
    )
    assert len(adapter["preferences"]) == 4 and adapter["params"]["beta"] == 0.1
    assert adapter["metrics"]["held_out_pairs"] == 2 and set(adapter["metrics"]["before"]) == {
        "pairs",
        "accuracy",
        "margin",
    }
    assert (cli.root / "adapters" / "warm" / "adapter_config.json").is_file()
    assert [a["name"] for a in cli.json("adapters", "list")] == ["warm"]
    assert "exists already" in cli.fails("tune", "warm")

    def made_with(*args: str) -> set:
        out = cli.json("compose", "A calm piano waltz", "-n", "1", "--max-tokens", "9", *args)
        return {c["adapter"] for c in out["candidates"]}

    assert made_with("--adapter", "warm") == {"warm"} and made_with() == {None}
    cli("adapters", "use", "warm")
    assert made_with() == {"warm"} and made_with("--adapter", "none") == {None}
    assert cli.json("adapters", "list")[0]["default"] is True
    cli("adapters", "rm", "warm")
    assert cli.json("adapters", "list") == [] and not (cli.root / "adapters" / "warm").exists()
    assert made_with() == {None}  # no longer the default
    assert "no adapter named 'warm'" in cli.fails("compose", "waltz", "--adapter", "warm")


def _tampered_adapter(cli, path: str) -> None:
    """A row someone wrote into the database by hand (or shipped in a cloned project)."""
    from midicli.project.records import AdapterRecord

    with Project.open(cli.root) as project:
        project.register_adapter(
            AdapterRecord("evil", path, "lora", "some/model", "0" * 12, [], {}, {}, "2026-01-01")
        )


@pytest.mark.parametrize("path", ["../victim", "adapters/../../victim", "adapters"])
def test_an_adapter_row_pointing_out_of_the_adapters_folder_is_never_used_or_deleted(
    cli, path: str
) -> None:
    victim = cli.root.parent / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    (cli.root / "adapters").mkdir(exist_ok=True)
    _tampered_adapter(cli, path)
    for command in (
        ["adapters", "rm", "evil"],
        ["adapters", "use", "evil"],
        ["compose", "x", "--adapter", "evil"],
    ):
        assert "outside" in cli.fails(*command)
    assert (victim / "precious.txt").read_text() == "keep me" and (cli.root / "adapters").is_dir()


@pytest.fixture
def other_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from midicli.engines.scaffold import scaffold_model

    return scaffold_model(tmp_path_factory.mktemp("other") / "tiny-other", "tiny", seed=1)


def _adapter_for(cli, base: Path, weights: str = "adapter_model.safetensors") -> None:
    """An adapter folder as `tune` leaves it, recorded as tuned on ``base``."""
    from midicli.engines.models import model_hash
    from midicli.project.records import AdapterRecord

    folder = cli.root / "adapters" / "warm"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    (folder / weights).write_bytes(b"\0" * 16)
    with Project.open(cli.root) as project:
        project.register_adapter(
            AdapterRecord(
                "warm",
                "adapters/warm",
                "lora",
                str(base),
                model_hash(base),
                [],
                {},
                {},
                "2026-01-01",
            )
        )


def test_an_adapter_tuned_on_another_model_is_refused_naming_both(
    cli, tiny_model_dir: Path, other_model_dir: Path
) -> None:
    _adapter_for(cli, other_model_dir)
    with Project.open(cli.root) as project:
        project.config.model = str(tiny_model_dir)
        project.save_config()
    for command in (
        ["adapters", "use", "warm"],
        ["compose", "a waltz", "--adapter", "warm", "--max-tokens", "30"],
    ):
        message = cli.fails(*command)
        assert f"tuned on {other_model_dir}, not on {tiny_model_dir}" in message
    assert Project.open(cli.root).config.adapter is None


def test_pickled_weights_are_refused_unless_trusted(
    cli, tiny_model_dir: Path, tmp_path: Path
) -> None:
    import shutil

    import torch
    from safetensors.torch import load_file

    pickled = tmp_path / "pickled-model"
    shutil.copytree(tiny_model_dir, pickled)
    weights = next(pickled.glob("*.safetensors"))
    torch.save(load_file(weights), pickled / "pytorch_model.bin")
    weights.unlink()
    compose = [
        "compose",
        "a waltz",
        "-n",
        "1",
        "--max-tokens",
        "30",
        "--seed",
        "1",
        "--model",
        str(pickled),
    ]
    assert "pickled weights (pytorch_model.bin)" in cli.fails(*compose)
    assert cli.json("list") == []
    assert cli.runner.invoke(app, ["-C", str(cli.root), "--trust-pickle", *compose]).exit_code == 0

    _adapter_for(cli, tiny_model_dir, weights="adapter_model.bin")
    message = cli.fails("compose", "a waltz", "--model", str(tiny_model_dir), "--adapter", "warm")
    assert "adapter warm has only pickled weights (adapter_model.bin)" in message
