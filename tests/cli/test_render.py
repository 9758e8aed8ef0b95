"""`midicli render`: a user turns stored pieces (or a MIDI file) into audio, pictures
and notation; mistakes get one line that says what to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from support import AMT_FIXTURES

from midicli.render import soundfont

CHORALE = AMT_FIXTURES / "bach_bwv66_6.mid"


@pytest.fixture
def chorale(cli) -> str:
    cli("import", str(CHORALE), "--name", "chorale")
    return "chorale"


def test_render_keeps_the_audio_beside_the_version(cli, chorale: str) -> None:
    result = cli("render", chorale)
    stored = cli.root / "pieces" / "chorale" / "v1.wav"
    assert "v1.wav" in result.stdout
    with wave.open(str(stored)) as audio:
        assert audio.getnchannels() == 2 and 22.5 <= audio.getnframes() / audio.getframerate() < 26


def test_render_picks_the_format_from_the_output_name_and_reports_json(
    cli, chorale: str, tmp_path: Path
) -> None:
    report = cli.json("render", f"{chorale}@1", "-o", str(tmp_path / "roll.png"))
    assert report == {"ref": "chorale@1", "format": "png", "path": str(tmp_path / "roll.png")}
    assert (tmp_path / "roll.png").read_bytes().startswith(b"\x89PNG")


def test_render_a_midi_file_from_disk_as_notation(cli, tmp_path: Path) -> None:
    song = tmp_path / "song.mid"
    song.write_bytes(CHORALE.read_bytes())
    cli("render", str(song), "--to", "musicxml")
    assert "<score-partwise" in (tmp_path / "song.musicxml").read_text()


def test_mistakes_are_one_line_errors(cli, chorale: str, tmp_path: Path) -> None:
    assert "no renderer for 'mp4' (available:" in cli.fails("render", chorale, "--to", "mp4")
    assert "no soundfont at" in cli.fails(
        "render", chorale, "--soundfont", str(tmp_path / "none.sf2")
    )
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert "cannot write" in cli.fails("render", chorale, "-o", str(a_file / "x.wav"))
    assert "cannot write" in cli.fails(
        "render", chorale, "-o", str(tmp_path / "no" / "such" / "x.png")
    )
    assert "--sample-rate" in cli.fails("render", chorale, "--sample-rate", "100")
    assert "no piece named 'nothing'" in cli.fails("render", "nothing")
    assert list((cli.root / "pieces" / "chorale").iterdir()) == [
        cli.root / "pieces" / "chorale" / "v1.mid"
    ]


def test_without_any_soundfont_audio_says_how_to_install_one(
    cli, chorale: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(soundfont, "CHECKOUT_SOUNDFONTS", tmp_path / "empty")
    monkeypatch.setattr(soundfont, "SYSTEM_SOUNDFONTS", ())
    assert "apt-get install fluid-soundfont-gm" in cli.fails("render", chorale)
    cli("render", chorale, "--to", "png")  # pictures need no soundfont


def test_the_projects_soundfont_setting_is_used(cli, chorale: str) -> None:
    config = cli.root / "midicli.toml"
    config.write_text(f'soundfont = "missing.sf2"\n{config.read_text()}')
    assert "missing.sf2" in cli.fails("render", chorale)


def midicli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A fresh process, so a test plugin never stays loaded in the test session."""
    return subprocess.run(
        [sys.executable, "-m", "midicli", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_broken_renderer_plugin_is_named_and_rendering_keeps_working(
    cli, chorale: str, tmp_path: Path
) -> None:
    (tmp_path / "broken_renderers.py").write_text(
        "from midicli.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef register_renderers(register):\n    raise RuntimeError('no formats today')\n"
    )
    (tmp_path / "sloppy.py").write_text(
        "from midicli.hookspecs import hookimpl\n\n"
        "def render(piece, out_path, **options):\n    raise KeyError('forgot something')\n\n"
        "@hookimpl\ndef register_renderers(register):\n    register('sloppy', render)\n"
    )
    env = {"MIDICLI_PLUGINS": f"{tmp_path / 'broken_renderers.py'},{tmp_path / 'sloppy.py'}"}
    listed = json.loads(midicli("plugins", "--json", cwd=cli.root, env=env).stdout)
    assert listed["errors"] == {
        "broken_renderers": "register_renderers: RuntimeError: no formats today"
    }
    rendered = midicli("render", chorale, "--to", "png", cwd=cli.root, env=env)
    assert rendered.returncode == 0, rendered.stderr
    failed = midicli("render", chorale, "--to", "sloppy", cwd=cli.root, env=env)
    assert failed.returncode == 2
    assert (
        failed.stderr.strip()
        == "Error: the sloppy renderer (midicli_local_sloppy) failed: KeyError: 'forgot something'"
    )
