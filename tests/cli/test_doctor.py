"""`midicli doctor`: a user whose render or compose just failed asks what is missing here
and how to get it."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import constants

from midicli.defaults import MINI_MODEL_DIR


def checks(cli) -> dict[str, dict]:
    report = cli.json("doctor")
    return {check["part"]: check for check in report["checks"]} | {"all ok": report["ok"]}


def test_this_machine_has_what_setup_installs(cli) -> None:
    found = checks(cli)
    for part in (
        "engine: transformers",
        "soundfont",
        "FluidSynth",
        "ffmpeg",
        "music21",
        "PDF engraver",
    ):
        assert found[part]["status"] == "ok", found[part]
    assert Path(found["soundfont"]["found"]).suffix in (".sf2", ".sf3")
    assert found["model: mini"] == found["model: mini"] | {
        "status": "ok",
        "found": f"offline: {MINI_MODEL_DIR}",
    }
    assert found["GPU"]["status"] in ("ok", "optional")


def test_a_project_soundfont_that_is_gone_is_named_with_its_fix(cli) -> None:
    (cli.root / "midicli.toml").write_text('soundfont = "fonts/gone.sf2"\n')
    soundfont = checks(cli)["soundfont"]
    assert soundfont["status"] == "missing"
    assert str(cli.root / "fonts" / "gone.sf2") in soundfont["found"]
    assert "soundfont setting" in soundfont["fix"] and "fluid-soundfont-gm" in soundfont["fix"]
    assert checks(cli)["all ok"] is False


def test_tools_missing_from_path_are_named_with_the_command_that_installs_them(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    found = checks(cli)
    assert found["ffmpeg"] == found["ffmpeg"] | {
        "status": "missing",
        "fix": "apt-get install ffmpeg (or render --to wav)",
    }
    assert (
        found["PDF engraver"]["status"] == "missing"
        and "apt-get install lilypond" in found["PDF engraver"]["fix"]
    )
    table = cli("doctor").stdout
    assert "missing" in table and "apt-get install ffmpeg" in table


def test_a_hub_model_not_downloaded_says_how_to_get_it(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    found = checks(cli)
    assert found["model cache"]["found"] == str(tmp_path / "empty-cache")
    assert found["model: midi-llm"] | {"needed_for": ""} == {
        "part": "model: midi-llm",
        "ok": False,
        "found": "not downloaded",
        "optional": False,
        "fix": "hf download slseanwu/MIDI-LLM_Llama-3.2-1B",
        "status": "missing",
        "needed_for": "",
    }
    assert found["model: mini"]["status"] == "ok"  # bundled: always offline
