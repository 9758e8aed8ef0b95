"""Bad input anywhere, typed the way a hostile or careless user would: one line on
stderr, exit code 2, and the project exactly as it was. `--help` stays rich."""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from support import FIXTURE_MIDIS, files_under
from typer.testing import CliRunner

from midicli.cli.main import app


def _midi_header(data: bytes, tracks: int | None = None, ticks: int | None = None) -> bytes:
    kind, count, division = struct.unpack(">HHh", data[8:14])
    return (
        data[:8]
        + struct.pack(
            ">HHh", kind, count if tracks is None else tracks, division if ticks is None else ticks
        )
        + data[14:]
    )


def _file(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


NOTES_HEAD = "tempo 120\n0 1 piano C4 80\n"
BAD_INPUT: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "detokenize windows not a list": (
        lambda tmp: [
            "detokenize",
            _file(tmp, "w.json", json.dumps({"windows": 5})),
            "-o",
            str(tmp / "o.mid"),
        ],
        '"windows" must be a list',
    ),
    "detokenize window start infinite": (
        lambda tmp: [
            "detokenize",
            _file(tmp, "w.json", '{"windows": [{"start": Infinity, "tokens": []}]}'),
            "-o",
            str(tmp / "o.mid"),
        ],
        "with a start from 0",
    ),
    "token JSON nested too deep": (
        lambda tmp: [
            "detokenize",
            _file(tmp, "deep.json", "[" * 100_000 + "]" * 100_000),
            "-o",
            str(tmp / "o.mid"),
        ],
        "not JSON midicli can read",
    ),
    "MIDI with 0 ticks per beat": (
        lambda tmp: [
            "import",
            _file(tmp, "zero.mid", _midi_header(FIXTURE_MIDIS[0].read_bytes(), ticks=0)),
        ],
        "zero.mid is not a readable MIDI file (its header gives 0 ticks per beat)",
    ),
    "notes duration of 400 digits": (
        lambda tmp: [
            "import",
            _file(tmp, "long.notes", NOTES_HEAD + "1 " + "9" * 400 + " piano C4 80\n"),
        ],
        "long.notes line 3: the duration 999999999... (400 characters) is past",
    ),
    "notes beat past the meter": (
        lambda tmp: [
            "import",
            _file(tmp, "beat.notes", NOTES_HEAD + "meter 4/4\n9:7 0:1 piano C4 80\n"),
        ],
        "line 4: bar 9 is in 4/4: its beats run from 1 to 4, not 7",
    ),
    "infill start past the meter": (
        lambda tmp: ["infill", "chorale", "--start", "9:7", "--end", "12"],
        "bar 9 is in 4/4: its beats run from 1 to 4, not 7",
    ),
    "compose -n abc": (lambda tmp: ["compose", "a waltz", "-n", "abc"], "Invalid value for '-n'"),
    "an unknown option": (lambda tmp: ["list", "--colour"], "No such option: --colour"),
    "an unknown command": (lambda tmp: ["lsit"], "No such command 'lsit'"),
    "a name with a newline": (
        lambda tmp: ["import", str(FIXTURE_MIDIS[0]), "--name", "evil\nError: fake"],
        "cannot hold control characters",
    ),
    "a name with a tab": (
        lambda tmp: ["import", str(FIXTURE_MIDIS[0]), "--name", "a\tb"],
        "'a\\tb'",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(cli, tmp_path: Path, case: str) -> None:
    cli("import", str(FIXTURE_MIDIS[0]), "--name", "chorale")
    before = files_under(cli.root), cli.json("list")
    command, words = BAD_INPUT[case]
    message = cli.fails(*command(tmp_path))
    assert words in message
    assert (files_under(cli.root), cli.json("list")) == before
    assert not (tmp_path / "o.mid").exists()


def test_a_header_claiming_65535_tracks_over_one_real_track_imports_that_track(
    cli, tmp_path: Path
) -> None:
    import mido

    song = mido.MidiFile(type=0)
    song.tracks.append(
        mido.MidiTrack(
            [
                mido.Message("note_on", note=60, velocity=80),
                mido.Message("note_off", note=60, time=480),
            ]
        )
    )
    song.save(tmp_path / "one.mid")
    claimed = _file(
        tmp_path, "claims.mid", _midi_header((tmp_path / "one.mid").read_bytes(), tracks=65535)
    )
    ref = cli.json("import", claimed)["created"][0]
    assert cli.json("show", ref)["notes"] == 1


def test_a_project_folder_that_cannot_be_used_is_one_line(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    result = CliRunner().invoke(app, ["-C", str(not_a_folder), "list"])
    assert (
        result.exit_code == 2
        and len(result.stderr.strip().splitlines()) == 1
        and "Traceback" not in result.output
    )


def test_os_errors_while_storing_are_one_line_and_store_nothing(cli) -> None:
    (cli.root / "pieces").rmdir()
    (cli.root / "pieces").write_text("not a folder")  # as a broken copy or a full disk leaves it
    message = cli.fails("import", str(FIXTURE_MIDIS[0]))
    assert "Not a directory" in message and cli.json("list") == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="permissions do not bind root")
def test_a_read_only_project_is_one_line(cli) -> None:
    cli.root.joinpath("pieces").chmod(0o555)
    try:
        assert "Permission denied" in cli.fails("import", str(FIXTURE_MIDIS[0]))
    finally:
        cli.root.joinpath("pieces").chmod(0o755)


def test_help_stays_rich() -> None:
    result = CliRunner().invoke(app, ["compose", "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout and "--max-tokens" in result.stdout
    bare = CliRunner().invoke(app, [])
    assert "compose" in bare.output and "Commands" in bare.output


def test_models_says_what_each_model_here_loads_as_and_how_fast_it_writes(cli) -> None:
    listed = cli.json("models")
    mini = listed["here"]["mini"]
    assert (
        mini["precision"] == "float32"
        and mini["size_bytes"] > 1_000_000
        and mini["seconds_per_1000_tokens"] > 0
    )
    assert "precision here" in cli("models").stdout
