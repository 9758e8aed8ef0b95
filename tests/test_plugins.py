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

from support import FIXTURE_MIDIS, REPO

from midicli import hookspecs


def midicli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "midicli", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
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
    result = midicli(
        "tokenize", str(FIXTURE_MIDIS[0]), "--tokenizer", "pitches", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    pitches = json.loads(result.stdout)
    assert len(pitches) > 50 and all(0 <= p < 128 for p in pitches)
    listed = json.loads(midicli("plugins", "--json", cwd=tmp_path, env=env).stdout)
    sources = {p["name"]: p["source"] for p in listed["plugins"]}
    assert (
        sources["pitches"].startswith("MIDICLI_PLUGINS")
        and sources["midicli.tokenizers.plugin"] == "built-in"
    )


def test_a_name_registered_twice_is_refused_and_tryfirst_decides_which_stands(
    tmp_path: Path,
) -> None:
    """Two plugins both offer a tokenizer called "pitches": the one pluggy calls first
    keeps the name (here the first loaded, because it asks to run first), and the other
    is refused with a message naming both, instead of one silently replacing the other."""
    (tmp_path / "first.py").write_text(
        readme_plugin().replace("@hookimpl\n", "@hookimpl(tryfirst=True)\n")
    )
    (tmp_path / "second.py").write_text(
        readme_plugin().replace("[note.pitch for note in piece.notes]", "[0]")
    )
    env = {"MIDICLI_PLUGINS": f"{tmp_path / 'first.py'},{tmp_path / 'second.py'}"}
    result = midicli(
        "tokenize", str(FIXTURE_MIDIS[0]), "--tokenizer", "pitches", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) > 50  # first.py's tokenizer, not second.py's
    errors = json.loads(midicli("plugins", "--json", cwd=tmp_path, env=env).stdout)["errors"]
    assert list(errors) == ["second"]
    assert (
        "'pitches'" in errors["second"]
        and "by first" in errors["second"]
        and "from second" in errors["second"]
    )


def test_plugins_from_a_folder_and_from_the_project_config(tmp_path: Path) -> None:
    folder = tmp_path / "my-plugins"
    folder.mkdir()
    (folder / "pitches.py").write_text(readme_plugin())
    result = midicli(
        "--plugins-dir",
        str(folder),
        "tokenize",
        str(FIXTURE_MIDIS[0]),
        "-t",
        "pitches",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert midicli("init", "songs", cwd=tmp_path).returncode == 0
    config = tmp_path / "songs" / "midicli.toml"
    config.write_text(
        config.read_text().replace("plugins = []", f'plugins = ["{folder / "pitches.py"}"]')
    )
    assert midicli("plugins", "trust", str(folder / "pitches.py"), cwd=tmp_path).returncode == 0
    listed = json.loads(midicli("plugins", "--json", cwd=tmp_path / "songs").stdout)
    assert "pitches" in {p["name"] for p in listed["plugins"]}


EVIL = """\
from pathlib import Path
Path(__file__).with_name("ran").write_text("the plugin ran")
from midicli.hookspecs import hookimpl

@hookimpl
def register_commands(app):
    @app.command()
    def hello():
        print("hello from the project")
"""


def cloned_project(tmp_path: Path) -> Path:
    """A project as one gets it from someone else: its midicli.toml names its own plugin."""
    assert midicli("init", "theirs", cwd=tmp_path).returncode == 0
    project = tmp_path / "theirs"
    (project / "tools").mkdir()
    (project / "tools" / "evil.py").write_text(EVIL)
    config = project / "midicli.toml"
    config.write_text(config.read_text().replace("plugins = []", 'plugins = ["tools/evil.py"]'))
    return project


def test_a_cloned_projects_plugin_runs_only_once_trusted(tmp_path: Path) -> None:
    project = cloned_project(tmp_path)
    ran = project / "tools" / "ran"
    listed = midicli("list", cwd=project)
    assert listed.returncode == 0 and not ran.exists()
    assert (
        listed.stderr.count("untrusted") == 1
        and "evil.py" in listed.stderr
        and "midicli plugins trust" in listed.stderr
    )
    shown = json.loads(
        midicli("plugins", "--json", cwd=project / "tools").stdout
    )  # relative to the root, not here
    assert (
        shown["untrusted"] == [str((project / "tools" / "evil.py").resolve())] and not ran.exists()
    )

    trusted = midicli("plugins", "trust", cwd=project)
    assert trusted.returncode == 0 and "evil.py" in trusted.stdout
    assert not any(
        home.name == "trusted-plugins.json" for home in project.rglob("*")
    )  # kept outside the project
    hello = midicli("hello", cwd=project)
    assert (
        hello.returncode == 0 and hello.stdout.strip() == "hello from the project" and ran.exists()
    )

    ran.unlink()
    with (project / "tools" / "evil.py").open("a") as file:
        file.write("# changed after it was trusted\n")
    again = midicli("hello", cwd=project)
    assert again.returncode == 2 and not ran.exists() and "untrusted" in again.stderr


HELLO = """\
from midicli.hookspecs import hookimpl

@hookimpl
def register_commands(app):
    @app.command()
    def hello(name: str = "world"):
        print(f"hello {name}")
"""


def test_plugin_commands_work_from_every_source(tmp_path: Path) -> None:
    plugin_dir = tmp_path / "lib"
    plugin_dir.mkdir()
    (plugin_dir / "hello_plugin.py").write_text(HELLO)
    installed = plugin_dir / "hello_plugin-1.0.dist-info"
    installed.mkdir()
    (installed / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-plugin\nVersion: 1.0\n")
    (installed / "entry_points.txt").write_text("[midicli]\nhello = hello_plugin\n")
    assert midicli("init", "songs", cwd=tmp_path).returncode == 0
    project = tmp_path / "songs"
    (project / "hello_file.py").write_text(HELLO)
    config = project / "midicli.toml"
    config.write_text(config.read_text().replace("plugins = []", 'plugins = ["hello_file.py"]'))
    assert midicli("plugins", "trust", "hello_file.py", cwd=project).returncode == 0

    sources = {
        "entry point": (
            [],
            tmp_path,
            {"PYTHONPATH": f"{plugin_dir}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"},
        ),
        "MIDICLI_PLUGINS": ([], tmp_path, {"MIDICLI_PLUGINS": str(plugin_dir / "hello_plugin.py")}),
        "--plugins-dir": (["--plugins-dir", str(plugin_dir)], tmp_path, {}),
        "midicli.toml": ([], project, {}),
    }
    for source, (options, cwd, env) in sources.items():
        result = midicli(*options, "hello", "--name", source, cwd=cwd, env=env)
        assert result.returncode == 0 and result.stdout == f"hello {source}\n", (
            f"{source}: {result.stderr}"
        )


def test_a_broken_plugin_is_named_and_the_rest_keeps_working(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('this plugin is broken')\n")
    (tmp_path / "angry.py").write_text(
        "from midicli.hookspecs import hookimpl\n\n@hookimpl\ndef register_tokenizers(register):\n "
        "   raise ValueError('no tokenizer for you')\n"
    )
    env = {"MIDICLI_PLUGINS": f"{tmp_path / 'broken.py'},{tmp_path / 'angry.py'}"}
    listed = midicli("plugins", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0
    errors = json.loads(listed.stdout)["errors"]
    assert "this plugin is broken" in errors[str(tmp_path / "broken.py")]
    assert "no tokenizer for you" in errors["angry"]
    tokens = midicli("tokenize", str(FIXTURE_MIDIS[0]), cwd=tmp_path, env=env)
    assert tokens.returncode == 0 and len(json.loads(tokens.stdout)) % 3 == 0
