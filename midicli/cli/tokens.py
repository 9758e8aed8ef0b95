"""tokenize / detokenize: MIDI files ⇄ music token ids as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from midicli import plugins
from midicli.cli.options import OutFile
from midicli.cli.output import console, print_json
from midicli.errors import BadTokensError, MidicliError

TokenizerName = Annotated[
    str, typer.Option("--tokenizer", "-t", help="Tokenizer plugin (see `midicli plugins`).")
]


def tokenize(
    file: Annotated[Path, typer.Argument(help="A MIDI file.", dir_okay=False)],
    tokenizer: TokenizerName = "amt",
    windows: Annotated[
        bool,
        typer.Option(
            "--windows",
            help="AMT only: split into 100 s windows, times counted from each window's start.",
        ),
    ] = False,
) -> None:
    """Print a MIDI file's music token ids as a JSON list.

    AMT tokens keep each note's onset and duration in seconds, its pitch and its
    instrument; tempo, meter and velocity are not part of the format and are dropped
    (detokenize writes every note at velocity 72, with no tempo map).

    Pieces longer than 100 s need [bold]--windows[/bold] with the AMT tokenizer (its
    arrival times reach 99.99 s); that prints {"windows": [{"start": s, "tokens": [...]}]}.

    Example: [bold]midicli tokenize song.mid > song.tokens.json[/bold]
    """
    from midicli.music.midi_io import read_midi
    from midicli.tokenizers import amt

    if not file.is_file():
        raise MidicliError(f"no such file: {file}")
    piece = read_midi(file)
    if windows:
        if tokenizer != "amt":
            raise MidicliError("--windows is for the amt tokenizer")
        print_json(
            {"windows": [{"start": w.start, "tokens": w.events} for w in amt.windows(piece.notes)]}
        )
        return
    try:
        print_json(plugins.get_tokenizer(tokenizer).encode(piece))
    except BadTokensError as exc:
        raise MidicliError(f"{file.name}: {exc} (use --windows for pieces over 100 s)") from None


def _read_tokens(file: Path) -> object:
    from midicli.tokenizers import token_json

    if not file.is_file():
        raise MidicliError(f"no such file: {file}")
    return token_json.parse(file.read_text(encoding="utf-8", errors="replace"), str(file))


def detokenize(
    file: Annotated[
        Path, typer.Argument(help="JSON token ids (as `tokenize` prints them).", dir_okay=False)
    ],
    out: OutFile,
    tokenizer: TokenizerName = "amt",
) -> None:
    """Write the MIDI file that a JSON list of token ids describes.

    Example: [bold]midicli detokenize song.tokens.json -o song.mid[/bold]
    """
    from midicli.music.midi_io import midi_bytes
    from midicli.project.files import write_atomic
    from midicli.tokenizers import token_json

    piece = token_json.to_piece(_read_tokens(file), plugins.get_tokenizer(tokenizer), str(file))
    try:
        write_atomic(out, midi_bytes(piece))
    except OSError as exc:
        raise MidicliError(f"cannot write {out}: {exc.strerror or exc}") from None
    console.print(f"Wrote {out} ({len(piece.notes)} notes, {piece.duration:.1f} s)")


def register(app: typer.Typer) -> None:
    app.command()(tokenize)
    app.command()(detokenize)
