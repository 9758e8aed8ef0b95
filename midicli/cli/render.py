"""render: a piece as audio, a piano-roll picture or notation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from midicli.cli import context
from midicli.cli.options import Json
from midicli.cli.output import console, err_console, print_json
from midicli.render import defaults

MIDI_SUFFIXES = (".mid", ".midi")

Source = Annotated[
    str, typer.Argument(help="A piece (NAME or NAME@N), or a MIDI file path.", show_default=False)
]
Format = Annotated[
    str | None,
    typer.Option(
        "--to", "-t",
        help="wav, flac, mp3, ogg, png (piano roll), musicxml, pdf, or a plugin's format "
        f"(default: from the --output suffix, else {defaults.FORMAT}).",
        show_default=False,
    ),
]  # fmt: skip
Output = Annotated[
    Path | None,
    typer.Option(
        "-o", "--output", dir_okay=False, show_default=False,
        help=(
            "File to write (default: beside the version's MIDI in the project, "
            "pieces/NAME/vN.FORMAT)."
        ),
    ),
]  # fmt: skip
Soundfont = Annotated[
    Path | None,
    typer.Option(
        dir_okay=False, show_default=False,
        help=(
            "SoundFont for audio (default: the project's `soundfont`, then soundfonts/, then the "
            "system's)."
        ),
    ),
]  # fmt: skip
SampleRate = Annotated[int, typer.Option("--sample-rate", help="Audio samples per second.")]
Gain = Annotated[
    float, typer.Option(help="FluidSynth gain: headroom before loudness normalisation.")
]
Loudness = Annotated[
    float,
    typer.Option(help="Target loudness in LUFS (ITU-R BS.1770); peaks stay at or below -1 dBFS."),
]


def _format(to: str | None, out: Path | None) -> str:
    from midicli.render import formats

    if to:
        return to.lower().lstrip(".")
    suffix = out.suffix.lower().lstrip(".") if out else ""
    return suffix if suffix in formats() else defaults.FORMAT


def _shown(path: Path) -> str:
    """A path relative to the working folder when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def render(
    source: Source,
    to: Format = None,
    out: Output = None,
    soundfont: Soundfont = None,
    sample_rate: SampleRate = defaults.SAMPLE_RATE,
    gain: Gain = defaults.GAIN,
    loudness: Loudness = defaults.TARGET_LUFS,
    as_json: Json = False,
) -> None:
    """Render a piece as audio, a piano roll or notation.

    A version's render is kept beside its MIDI (pieces/NAME/vN.wav); an infill's range is shaded in its piano roll.

    Examples: [bold]midicli render calm-waltz-1[/bold] ·
    [bold]midicli render calm-waltz-1@2 --to png[/bold] ·
    [bold]midicli render song.mid -o song.flac[/bold]
    """  # noqa: E501 - rich help keeps its line breaks
    from midicli.music.midi_io import read_midi
    from midicli.render import render_piece, render_version

    fmt = _format(to, out)
    options: dict[str, Any] = {
        "soundfont": soundfont,
        "sample_rate": sample_rate,
        "gain": gain,
        "loudness": loudness,
    }
    with err_console.status(f"Rendering {source} as {fmt}…"):
        file = Path(source)
        if file.suffix.lower() in MIDI_SUFFIXES and file.is_file():
            ref = None
            written = render_piece(
                read_midi(file), fmt, out or file.with_suffix(f".{fmt}"), title=file.stem, **options
            )
        else:
            project = context.session.project()
            record = project.resolve(source)
            ref = record.ref
            written = render_version(project, record, fmt, out, **options)
    if as_json:
        print_json({"ref": ref, "format": fmt, "path": str(written.resolve())})
    else:
        console.print(f"Wrote {_shown(written)}")


def register(app: typer.Typer) -> None:
    app.command()(render)
