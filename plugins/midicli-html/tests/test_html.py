"""A user renders a stored piece as a page, and it holds a player and a picture that work."""

from __future__ import annotations

import base64
import io
import json
import re
import wave
from pathlib import Path

import pytest
from PIL import Image
from support import AMT_FIXTURES
from typer.testing import CliRunner

from midicli.cli.main import app


@pytest.fixture
def project(tmp_path: Path) -> Path:
    runner = CliRunner()
    root = tmp_path / "songs"
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    assert (
        runner.invoke(
            app,
            [
                "-C",
                str(root),
                "import",
                str(AMT_FIXTURES / "edge_drums_tempo_change.mid"),
                "--name",
                "groove",
            ],
        ).exit_code
        == 0
    )
    return root


def embedded(page: str, tag: str) -> tuple[str, bytes]:
    match = re.search(rf'<{tag}[^>]* src="data:([^;]+);base64,([^"]+)"', page)
    assert match, f"no embedded <{tag}>"
    return match[1], base64.b64decode(match[2])


def test_a_page_with_a_player_and_the_piano_roll(project: Path) -> None:
    result = CliRunner().invoke(app, ["-C", str(project), "render", "groove", "--to", "html"])
    assert result.exit_code == 0, result.output
    page = (project / "pieces" / "groove" / "v1.html").read_text(encoding="utf-8")
    assert (
        "<title>groove@1</title>" in page and "Electric Bass (finger)" in page and "Drums" in page
    )
    picture_type, picture = embedded(page, "img")
    with Image.open(io.BytesIO(picture)) as roll:
        assert picture_type == "image/png" and roll.width > 600
    audio_type, audio = embedded(page, "audio")
    if audio_type == "audio/wav":
        with wave.open(io.BytesIO(audio)) as sound:
            assert sound.getnframes() / sound.getframerate() > 3.2
    else:
        assert (
            audio_type == "audio/mpeg"
            and audio.startswith((b"ID3", b"\xff\xfb"))
            and len(audio) > 20_000
        )


def test_the_plugin_is_listed_as_an_installed_package(project: Path) -> None:
    listed = json.loads(CliRunner().invoke(app, ["plugins", "--json"]).stdout)
    assert {
        "name": "midicli-html",
        "source": "package midicli-html",
        "hooks": ["register_renderers"],
    } in listed["plugins"]
