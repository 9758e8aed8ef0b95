"""doctor: what is installed and usable here, and the fix for each missing part."""

from __future__ import annotations

from pathlib import Path

import typer

from midicli.cli.options import Json
from midicli.cli.output import print_json, print_table
from midicli.project.config import CONFIG_NAME, ProjectConfig
from midicli.project.project import find_root


def _project_soundfont() -> Path | None:
    """The soundfont setting of the project here, if any (never creates a project)."""
    from midicli.cli import context

    root = context.session.project_dir or find_root()
    if root is None or not (root / CONFIG_NAME).is_file():
        return None
    setting = ProjectConfig.load(root / CONFIG_NAME).soundfont
    return root / Path(setting).expanduser() if setting else None


def doctor(as_json: Json = False) -> None:
    """Check engines, GPU, soundfont, FluidSynth, ffmpeg, notation and models, and say
    how to get each missing part. Optional parts (vLLM, a GPU) are listed too.

    Example: [bold]midicli doctor[/bold]
    """
    from midicli.doctor import examine

    checks = examine(_project_soundfont())
    if as_json:
        print_json(
            {"ok": all(c.ok or c.optional for c in checks), "checks": [c.to_dict() for c in checks]}
        )
        return
    rows = [(c.status, c.part, c.found if c.ok else f"{c.found}. Fix: {c.fix}") for c in checks]
    print_table("midicli doctor", ["", "part", "found (or how to get it)"], rows)


def register(app: typer.Typer) -> None:
    app.command()(doctor)
