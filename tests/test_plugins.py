"""Plugins load from files, folders, the project config and installed packages; a
broken plugin is named and skipped. Runs the real CLI in a subprocess so each test
starts with a fresh plugin manager."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from midicli import hookspecs
from support import FIXTURE_MIDIS, REPO


def midicli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "midicli", *args], cwd=cwd, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=120,
    )


def readme_plugin() -> str:
    """The minimal plugin the README shows."""
    match = re.search(r"```python\n(# pitches\.py.*?)```", (REPO / "README.md").read_text(), re.S)
    assert match, "README lost its plugin example"
    return match.group(1)


def test_every_hook_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("register_")]
    assert hooks and all(f"`{name}(" in readme for name in hooks)


def test_the_readme_plugin_works_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "pitches.py").write_text(readme_plugin())
    env = {"MIDICLI_PLUGINS": str(tmp_path / "pitches.py")}
    result = midicli("tokenize", str(FIXTURE_MIDIS[0]), "--tokenizer", "pitches", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    pitches = json.loads(result.stdout)
    assert len(pitches) > 50 and all(0 <= p < 128 for p in pitches)
    listed = json.loads(midicli("plugins", "--json", cwd=tmp_path, env=env).stdout)
    sources = {p["name"]: p["source"] for p in listed["plugins"]}
    assert sources["pitches"].startswith("MIDICLI_PLUGINS") and sources["midicli.tokenizers.plugin"] == "built-in"


def test_plugins_from_a_folder_and_from_the_project_config(tmp_path: Path) -> None:
    folder = tmp_path / "my-plugins"
    folder.mkdir()
    (folder / "pitches.py").write_text(readme_plugin())
    result = midicli("--plugins-dir", str(folder), "tokenize", str(FIXTURE_MIDIS[0]), "-t", "pitches", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert midicli("init", "songs", cwd=tmp_path).returncode == 0
    config = tmp_path / "songs" / "midicli.toml"
    config.write_text(config.read_text().replace("plugins = []", f'plugins = ["{folder / "pitches.py"}"]'))
    listed = json.loads(midicli("plugins", "--json", cwd=tmp_path / "songs").stdout)
    assert "pitches" in {p["name"] for p in listed["plugins"]}


def test_a_broken_plugin_is_named_and_the_rest_keeps_working(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('this plugin is broken')\n")
    (tmp_path / "angry.py").write_text(
        "from midicli.hookspecs import hookimpl\n\n@hookimpl\ndef register_tokenizers(register):\n    raise ValueError('no tokenizer for you')\n"
    )
    env = {"MIDICLI_PLUGINS": f"{tmp_path / 'broken.py'},{tmp_path / 'angry.py'}"}
    listed = midicli("plugins", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0
    errors = json.loads(listed.stdout)["errors"]
    assert "this plugin is broken" in errors[str(tmp_path / "broken.py")]
    assert "no tokenizer for you" in errors["angry"]
    tokens = midicli("tokenize", str(FIXTURE_MIDIS[0]), cwd=tmp_path, env=env)
    assert tokens.returncode == 0 and len(json.loads(tokens.stdout)) % 3 == 0
