"""`midicli caption` and `midicli eval` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import AMT_FIXTURES, files_under

CHORALE = AMT_FIXTURES / "bach_bwv66_6.mid"
DRUMS = AMT_FIXTURES / "edge_drums_tempo_change.mid"


def test_caption_describes_a_midi_file(cli) -> None:
    words = cli("caption", str(CHORALE), "--genre", "classical").stdout.strip()
    assert words.startswith(
        "A classical piece featuring acoustic grand piano. Set in the key of F# minor"
    )
    [described] = cli.json("caption", str(CHORALE))
    assert described["caption"] in words.replace("A classical piece", "A piece")
    assert described["features"]["tempo_word"] == "Moderato" and described["features"][
        "instruments"
    ] == [0]
    heard = described["musicality"]  # what a listener hears, beside what a caption says
    assert (
        heard["horizon_notes"] == 0
        and heard["longest_silence"] < 1
        and heard["scale_consistency"] > 0.9
    )


def test_caption_json_stays_clean_on_a_ci_machine(tmp_path: Path) -> None:
    # a fresh process: pyfluidsynth (under MusPy) prints where it found its library on import
    # when $CI is set
    env = {**os.environ, "CI": "1", "MIDICLI_HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "midicli", "caption", str(CHORALE), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    [described] = json.loads(run.stdout)
    assert described["musicality"]["scale_consistency"] > 0.9


def test_caption_lists_several_files_in_a_table(cli) -> None:
    table = cli("caption", str(CHORALE), str(DRUMS)).stdout
    assert "bach_bwv66_6.mid" in table and "edge_drums_tempo_change.mid" in table


def test_caption_refuses_what_is_not_midi(cli, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not music")
    assert "not a readable MIDI file" in cli.fails("caption", str(tmp_path / "notes.txt"))
    assert "no such file" in cli.fails("caption", str(tmp_path / "missing.mid"))


@pytest.fixture
def test_split(cli, tmp_path: Path) -> Path:
    """A held-out split in the dataset's shape, auto-captioned by `midicli caption`."""
    rows = [
        {"caption": d["caption"], "midi": d["file"]}
        for d in cli.json("caption", str(CHORALE), str(DRUMS))
    ]
    split = tmp_path / "test.jsonl"
    split.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return split


def test_eval_scores_references_perfectly_and_stores_nothing(
    cli, test_split: Path, tiny_model_dir: Path
) -> None:
    before = files_under(cli.root)
    report = cli.json(
        "eval", str(test_split), "--model", str(tiny_model_dir), "--max-tokens", "9", "--seed", "2"
    )
    assert files_under(cli.root) == before  # a measurement: no versions, no files
    real, model, shuffled = (report["columns"][c] for c in ("real", "model", "shuffled"))
    for figure in (
        "validity",
        "key_accuracy",
        "mode_accuracy",
        "instrument_precision",
        "instrument_recall",
        "tempo_agreement",
        "time_signature_agreement",
    ):
        assert real[figure] == 1.0, figure
    assert real["pitch_class_distance"] == 0.0
    assert (real["pieces"], model["pieces"], shuffled["pieces"]) == (2, 2, 2)
    assert report["out"] is None and report["seed"] == 2
    assert (
        real["large_clusters"] == 0
        and model["horizon_piles"] == 0
        and model["duplicate_share"] == 0
    )
    assert report["best_of"] >= 1 and report["seconds"] == 30.0  # compose's defaults, recorded
    assert {o["column"] for o in report["outputs"]} == {"real", "model", "shuffled"}


def test_eval_keeps_its_outputs_in_a_new_folder(
    cli, test_split: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    table = cli(
        "eval",
        str(test_split),
        "--model",
        str(tiny_model_dir),
        "--max-tokens",
        "9",
        "--out",
        str(out),
    ).stdout
    assert "real pieces" in table and "shuffled captions" in table and "instrument recall" in table
    report = json.loads((out / "report.json").read_text())
    kept = [Path(o["path"]) for o in report["outputs"] if o["column"] != "real" and o["path"]]
    assert kept and all(path.is_file() and out in path.parents for path in kept)
    assert "not an empty folder" in cli.fails(
        "eval", str(test_split), "--model", str(tiny_model_dir), "--out", str(out)
    )


def test_eval_needs_prompts(cli, tmp_path: Path, test_split: Path) -> None:
    assert "no such prompts file" in cli.fails(
        "eval", str(tmp_path / "missing.txt"), "--model", "x"
    )
    assert "at least 1" in cli.fails("eval", str(test_split), "--model", "x", "-n", "0")
