"""The one output sink: rich tables for people, JSON for scripts, errors on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no colour codes, so pipes and ``jq`` get clean text)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, header_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, overflow="fold", no_wrap=index == 0)  # names and refs stay whole
    for row in rows:
        table.add_row(*(escape(str(cell)) for cell in row))
    console.print(table)


def note(message: str) -> None:
    """A side remark for the user (stderr, so it never pollutes ``--json`` output)."""
    err_console.print(f"[dim]{escape(message)}[/dim]")


def error(message: str) -> None:
    err_console.print(f"[bold red]Error:[/bold red] {escape(message)}", highlight=False)
