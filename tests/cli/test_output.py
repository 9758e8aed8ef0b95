"""Tables at 80 columns: nothing wider than the terminal, no word broken in two; long
cells end in an ellipsis or wrap between words, and columns go before words would break.
Checked in a real 80-column pseudo-terminal for the tables a user sees most."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
from rich.console import Console
from support import FIXTURE_MIDIS

from midicli.cli.output import Col, fitted_table

WIDTH = 80


def rendered(table) -> list[str]:
    console = Console(width=WIDTH, record=True, file=open(os.devnull, "w"))
    console.print(table)
    return console.export_text().splitlines()


def cells_text(lines: list[str]) -> str:
    """The table's words, line by line, with the borders taken out."""
    return "\n".join(
        " ".join(re.sub(r"[│┃┏┓┗┛┡┩└┘━─┳┻╇┴┬┼╋]", " ", line).split()) for line in lines
    )


def in_a_terminal(root: Path, home: Path, *args: str) -> list[str]:
    """What a user sees running ``midicli ARGS`` in an 80-column terminal."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")} | {
        "MIDICLI_HOME": str(home),
        "TERM": "xterm",
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "midicli", "-C", str(root), *args],
        env=env,
        encoding="utf-8",
        timeout=240,
        dimensions=(50, WIDTH),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line) for line in child.before.splitlines()]


def test_a_wide_table_fits_by_cutting_wrapping_and_dropping() -> None:
    rows = [
        (
            "irish-folk-featuring-fiddle-12@3",
            "An Irish folk piece featuring fiddle, set in D major",
            "Fiddle, Flute, Acoustic Grand Piano",
            "100.6",
            "2026-12-03 23:06",
            "extra-wide-column-value-that-must-go",
        )
    ]
    table = fitted_table(
        None,
        [Col("candidate", "keep"), "text", Col("instruments", "cut"), "seconds", "created", "last"],
        rows,
        WIDTH,
    )
    lines = rendered(table)
    assert max(map(len, lines)) <= WIDTH
    text = cells_text(lines)
    assert "irish-folk-featuring-fiddle-12@3" in text  # kept whole
    assert "…" in text and "Fiddle, Flute" in text  # instruments cut, with an ellipsis
    assert "featuring" in text and "fiddle," in text  # wrapped between words
    assert "extra-wide" not in text  # the rightmost column went first


def test_a_narrow_terminal_drops_columns_rather_than_breaking_headers() -> None:
    headers = ["piece", "versions", "latest", "seconds", "notes", "instruments", "created"]
    lines = rendered(
        fitted_table(
            None,
            headers,
            [("calm-waltz-1", 3, "@3 infill", "12.5", 40, "Piano", "2026-12-03 23:06")],
            50,
        )
    )
    header_line = cells_text(lines[:3]).split()
    assert max(map(len, lines)) <= 50
    assert header_line == headers[: len(header_line)] and len(header_line) < len(headers)


def test_list_history_and_show_fit_an_80_column_terminal(cli, midicli_home: Path) -> None:
    for midi in FIXTURE_MIDIS:
        cli("import", str(midi))
    expected = {
        ("list",): [
            "piece",
            "vers.",
            "latest",
            "edge-drums-tempo-change",
            "joplin-maple-leaf",
            "@1 import",
            "Church Organ",
        ],
        ("history", "joplin-maple-leaf"): ["version", "operation", "import"],
        ("show", "strawberry"): [
            "operation",
            "import",
            "pieces/strawberry/v1.mid",
            "instrument",
            "pitches",
        ],
    }
    for args, words in expected.items():
        lines = in_a_terminal(cli.root, midicli_home, *args)
        assert max(map(len, lines)) <= WIDTH, "\n".join(lines)
        text = cells_text(lines)
        assert all(word in text for word in words), "\n".join(lines)


def test_the_candidates_of_compose_fit_an_80_column_terminal(
    cli, midicli_home: Path, tiny_model_dir: Path
) -> None:
    lines = in_a_terminal(
        cli.root,
        midicli_home,
        "compose",
        "A calm piano waltz with strings",
        "-n",
        "2",
        "--model",
        str(tiny_model_dir),
        "--max-tokens",
        "30",
        "--seed",
        "1",
    )
    table = [line for line in lines if line[:1] in "┏┃┡│└"]
    assert table and max(map(len, table)) <= WIDTH, "\n".join(lines)
    text = cells_text(table)
    assert "calm-piano-waltz-1@1" in text and "calm-piano-waltz-2@1" in text
    [header] = [line for line in text.splitlines() if line.startswith("candidate")]
    assert header.split()[:4] == [
        "candidate",
        "score",
        "why",
        "secs",
    ]  # whole words, the rightmost go first


def test_the_progress_shows_tokens_per_second_and_the_time_left() -> None:
    import io
    import time

    from midicli.cli.output import generation_progress

    screen = io.StringIO()
    with generation_progress(
        1, 300, 10.0, to=Console(file=screen, force_terminal=True, width=160)
    ) as update:
        for tokens in range(1, 31):
            time.sleep(0.01)
            update(0, tokens, tokens / 10)
    shown = screen.getvalue()
    assert "tok/s" in shown and "left" in shown and "30 tokens" in shown
