"""midicli.toml: what a project remembers, and clear words when it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from midicli.errors import ProjectError
from midicli.project.config import ProjectConfig, midicli_home


def test_settings_survive_a_round_trip_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "midicli.toml"
    config = ProjectConfig(
        model="midi-llm",
        plugins=["midicli_extra", "plugins/local.py"],
        adapter="mine",
        soundfont="gm.sf2",
    )
    config.save(path)
    assert ProjectConfig.load(path) == config


def test_a_fresh_config_uses_the_transformers_engine_and_writes_no_empty_values(
    tmp_path: Path,
) -> None:
    path = tmp_path / "midicli.toml"
    ProjectConfig().save(path)
    text = path.read_text()
    assert 'engine = "transformers"' in text and "model" not in text
    assert ProjectConfig.load(path).engine == "transformers"


def test_unknown_keys_are_kept_for_plugins_and_newer_versions(tmp_path: Path) -> None:
    path = tmp_path / "midicli.toml"
    path.write_text('model = "m"\nrender_dpi = 300\n[my_plugin]\nvoice = "alto"\n')
    config = ProjectConfig.load(path)
    assert config.extra == {"render_dpi": 300, "my_plugin": {"voice": "alto"}}
    assert config.likely_typos() == {}
    config.model = "other"
    config.save(path)
    again = ProjectConfig.load(path)
    assert again.extra == config.extra and again.model == "other"


def test_a_misspelt_key_is_named_with_the_key_it_resembles(tmp_path: Path) -> None:
    path = tmp_path / "midicli.toml"
    path.write_text(
        'modle = "midi-llm"\nsoundfnt = "gm.sf2"\nplugin = ["x"]\n[my_plugin]\nvoice = "alto"\n'
    )
    config = ProjectConfig.load(path)
    assert config.likely_typos() == {"modle": "model", "soundfnt": "soundfont", "plugin": "plugins"}
    assert config.model is None


def test_broken_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "midicli.toml"
    path.write_text('model = "m"\nengine = \n')
    with pytest.raises(ProjectError, match=r"midicli\.toml is not valid TOML.*line 2"):
        ProjectConfig.load(path)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("model = 3", "'model' must be a string"),
        ('plugins = "one"', "'plugins' must be a list"),
    ],
)
def test_values_of_the_wrong_kind_are_named(tmp_path: Path, text: str, complaint: str) -> None:
    path = tmp_path / "midicli.toml"
    path.write_text(text + "\n")
    with pytest.raises(ProjectError, match=complaint):
        ProjectConfig.load(path)


def test_the_user_folder_follows_midicli_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MIDICLI_HOME", str(tmp_path / "home"))
    assert midicli_home() == tmp_path / "home"
    monkeypatch.delenv("MIDICLI_HOME")
    assert midicli_home() == Path.home() / ".local" / "share" / "midicli"
