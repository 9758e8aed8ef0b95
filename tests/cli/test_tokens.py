"""tokenize / detokenize from the command line: the reference tokens come out, and
broken token files get a one-line reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import AMT_FIXTURES, FIXTURE_MIDIS

from midicli.music.midi_io import read_midi
from midicli.project.files import FILE_MODE
from midicli.tokenizers.vocab import MAX_TIME


@pytest.mark.parametrize("midi", FIXTURE_MIDIS, ids=lambda p: p.stem)
def test_tokenize_prints_the_reference_tokens(cli, midi: Path) -> None:
    reference = json.loads((AMT_FIXTURES / f"{midi.stem}.tokens.json").read_text())
    if reference[-3] >= MAX_TIME:  # longer than 100 s: the CLI asks for windows
        assert "--windows" in cli.fails("tokenize", str(midi))
        return
    assert json.loads(cli("tokenize", str(midi)).stdout) == reference


def test_a_long_piece_goes_through_windows_and_back(cli, tmp_path: Path) -> None:
    long_piece = AMT_FIXTURES / "strawberry.mid"
    windows = json.loads(cli("tokenize", str(long_piece), "--windows").stdout)["windows"]
    assert len(windows) == 3 and [w["start"] for w in windows] == [0.0, 100.0, 200.0]
    tokens = tmp_path / "straw.json"
    tokens.write_text(json.dumps({"windows": windows}))
    cli("detokenize", str(tokens), "-o", str(tmp_path / "back.mid"))
    original, back = read_midi(long_piece).notes, read_midi(tmp_path / "back.mid").notes
    assert len(back) == len(original)
    assert max(n.onset for n in back) == pytest.approx(max(n.onset for n in original), abs=0.011)


def test_detokenize_writes_the_notes_of_the_tokens(cli, tmp_path: Path) -> None:
    tokens = tmp_path / "three.json"
    tokens.write_text(
        json.dumps([0, 10050, 11060, 50, 10050, 11064, 100, 10100, 11000 + 128 * 128 + 36])
    )
    cli("detokenize", str(tokens), "-o", str(tmp_path / "three.mid"))
    notes = read_midi(tmp_path / "three.mid").notes
    assert (tmp_path / "three.mid").stat().st_mode & 0o777 == FILE_MODE != 0o600
    assert [(n.onset, n.pitch, n.instrument) for n in notes] == [
        (0.0, 60, 0),
        (0.5, 64, 0),
        (1.0, 36, 128),
    ]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "empty"),
        ("[0, 10050]", "multiple of 3"),
        ("[0, 10050, 99999]", "token 2"),
        ("[100, 10050, 11060, 50, 10050, 11060]", "token 3"),
        ("[10050, 0, 11060]", "token 0"),
        ("{not json", "not JSON"),
        ('["a", "b", "c"]', "integer"),
    ],
    ids=[
        "empty",
        "wrong length",
        "out of range",
        "time goes back",
        "misordered",
        "not json",
        "not ints",
    ],
)
def test_broken_token_files_are_refused_in_one_line(
    cli, tmp_path: Path, content: str, words: str
) -> None:
    tokens = tmp_path / "bad.json"
    tokens.write_text(content)
    assert words in cli.fails("detokenize", str(tokens), "-o", str(tmp_path / "out.mid"))
    assert not (tmp_path / "out.mid").exists()


def test_tokenize_help_says_what_the_format_drops(cli) -> None:
    help_text = " ".join(cli("tokenize", "--help").stdout.replace("│", " ").split())
    assert "tempo, meter and velocity are not part of the format and are dropped" in help_text
