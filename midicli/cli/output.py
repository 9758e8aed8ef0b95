"""The one output sink of both front ends (the commands and the studio): rich tables
for people, JSON for scripts, generation progress and errors on stderr."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from midicli.music.instruments import instrument_name

if TYPE_CHECKING:
    from midicli.generation.write import CandidateProgress

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no colour codes, so pipes and ``jq`` get clean text)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Col:
    """A table column and how it gives way on a narrow terminal: ``keep`` (always whole),
    ``cut`` (one line, an ellipsis where it ends) or ``wrap`` (between words only);
    ``drop``: columns with the highest number go first when even that does not fit
    (0: never dropped)."""

    header: str
    fit: Literal["keep", "cut", "wrap"] = "wrap"
    drop: int = 0


CUT_WIDTH = 10  # a cut column keeps at least this much of its text
LONGEST_WRAPPED_WORD = 20  # a longer word in a wrapped column ends in an ellipsis instead


def _columns(columns: Sequence[str | Col]) -> list[Col]:
    """Plain headers: the first column (names, refs) kept whole, the others wrap, and
    the rightmost go first when the terminal is too narrow."""
    return [
        c if isinstance(c, Col) else Col(c, "keep" if i == 0 else "wrap", 0 if i == 0 else i)
        for i, c in enumerate(columns)
    ]


def _least(column: Col, cells: list[str]) -> int:
    natural = max([cell_len(column.header), *map(cell_len, cells)])
    if column.fit == "keep":
        return natural
    if column.fit == "cut":
        return max(cell_len(column.header), min(natural, CUT_WIDTH))
    longest_word = max([0, *(cell_len(word) for cell in cells for word in cell.split())])
    return max(cell_len(column.header), min(longest_word, LONGEST_WRAPPED_WORD))


def fitted_table(
    title: str | None, columns: Sequence[str | Col], rows: Iterable[Sequence[Any]], width: int
) -> Table:
    """A table no wider than ``width`` that never breaks a word: long cells are cut with
    an ellipsis or wrapped between words, and columns are dropped before that fails."""
    specs = _columns(columns)
    cells = [[str(cell) for cell in row] for row in rows]
    by_column = [[row[i] for row in cells] for i in range(len(specs))]
    natural = [max([cell_len(c.header), *map(cell_len, by_column[i])]) for i, c in enumerate(specs)]
    least = [_least(c, by_column[i]) for i, c in enumerate(specs)]
    shown = list(range(len(specs)))

    def room() -> int:  # the width left for text: borders and padding take 3 a column, plus 1
        return width - 3 * len(shown) - 1

    while sum(least[i] for i in shown) > room() and any(specs[i].drop for i in shown):
        shown.remove(max((i for i in shown if specs[i].drop), key=lambda i: (specs[i].drop, i)))
    widths = {i: natural[i] for i in shown}
    while sum(widths.values()) > room():
        give = [i for i in shown if widths[i] > least[i]]
        if not give:
            break
        widths[max(give, key=lambda i: widths[i] - least[i])] -= 1
    table = Table(title=title, header_style="bold")
    for i in shown:
        table.add_column(
            specs[i].header, width=widths[i], no_wrap=specs[i].fit != "wrap", overflow="ellipsis"
        )
    for row in cells:
        table.add_row(*(escape(row[i]) for i in shown))
    return table


def print_table(
    title: str | None,
    columns: Sequence[str | Col],
    rows: Iterable[Sequence[Any]],
    to: Console = console,
) -> None:
    to.print(fitted_table(title, columns, rows, to.width))


def instruments_text(numbers: Sequence[int], most: int = 3) -> str:
    """A short instrument list for tables: the first few names, then how many more."""
    names = ", ".join(instrument_name(i) for i in numbers[:most])
    return names + (f" +{len(numbers) - most}" if len(numbers) > most else "")


@contextmanager
def generation_progress(
    n: int, max_tokens: int, span_seconds: float | None = None, to: Console = err_console
) -> Iterator[CandidateProgress]:
    """One bar per candidate drawn, measured in seconds of music written (in tokens when
    the span is not known), with the tokens/s so far and the time left at that pace (a
    long piece on a CPU takes minutes)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[music]:5.1f} s of music"),
        TextColumn("{task.fields[tokens]} tokens, {task.fields[rate]:.1f} tok/s"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=to, transient=True) as bars:
        tasks = [
            bars.add_task(f"candidate {i + 1}", total=100, music=0.0, tokens=0, rate=0.0)
            for i in range(n)
        ]
        start = time.perf_counter()

        def update(row: int, tokens: int, music: float) -> None:
            if row >= len(tasks):  # a later round of one candidate
                return
            share = music / span_seconds if span_seconds else tokens / max_tokens
            rate = tokens / max(time.perf_counter() - start, 1e-9)
            bars.update(
                tasks[row], completed=min(100.0, 100 * share), music=music, tokens=tokens, rate=rate
            )

        yield update


def note(message: str) -> None:
    """A side remark for the user (stderr, so it never pollutes ``--json`` output)."""
    err_console.print(f"[dim]{escape(message)}[/dim]")


def error(message: str | BaseException, to: Console = err_console) -> None:
    """The one-line error: an exception shows the first line of its message (its kind
    when it has none), never a traceback."""
    if isinstance(message, BaseException):
        message = str(message).splitlines()[0] if str(message) else type(message).__name__
    to.print(f"[bold red]Error:[/bold red] {escape(message)}", highlight=False)
