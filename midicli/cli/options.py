"""Option types shared by every command, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]
Ref = Annotated[str, typer.Argument(help="A piece: NAME (latest version) or NAME@N (version N).", show_default=False)]
OutFile = Annotated[Path, typer.Option("-o", "--output", help="File to write.", dir_okay=False)]
