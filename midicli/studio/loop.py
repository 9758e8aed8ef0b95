"""The interactive loop: read a line, run its command, show what changed.

At a terminal the prompt has history (kept in $MIDICLI_HOME) and tab completion of
commands, piece names and formats; piped input is read line by line, so a studio
session can also be scripted. Ctrl-C cancels a running command and returns to the
prompt (generation stores nothing until it is complete); Ctrl-D or ``quit`` leaves.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from rich.console import Console

from midicli.cli.output import Col, error, generation_progress, instruments_text, print_table
from midicli.errors import MidicliError
from midicli.generation.operations import Created
from midicli.music.notes_text import TIME_STYLES
from midicli.project.adapters import NO_ADAPTER
from midicli.project.config import midicli_home
from midicli.project.records import VersionRecord
from midicli.studio import commands as c
from midicli.studio.editing import edit_description, edit_notes
from midicli.studio.session import Step, Studio
from midicli.studio.sketch import sketches

HISTORY_FILE = "studio_history"
CURRENT = "▶"
REF_COMMANDS = {"open", "show", "history", "prefer", "keep", "pick"}


def run(studio: Studio, console: Console, interactive: bool) -> None:
    """Read and run commands until ``quit`` or end of input."""
    read = _prompt_reader(studio) if interactive else _line_reader(console)
    console.print(
        f"midicli studio in {studio.project.root} — [bold]help[/bold] lists the commands, "
        "Ctrl-C cancels, Ctrl-D leaves.",
        highlight=False,
    )
    if studio.step.current is not None:
        _show_version(studio, console, studio.step.current)
    while True:
        try:
            line = read(_prompt(studio))
        except KeyboardInterrupt:
            continue  # a half-typed line is dropped, as in a shell
        except EOFError:
            break
        try:
            command = c.parse(line)
            if isinstance(command, c.Quit):
                break
            if command is not None:
                _run(studio, console, command)
        except MidicliError as exc:
            error(exc, to=console)
        except KeyboardInterrupt:
            console.print("Cancelled: nothing was stored.")


def _prompt(studio: Studio) -> str:
    current = studio.step.current
    return f"studio {current.ref}> " if current else "studio> "


def _line_reader(console: Console) -> Callable[[str], str]:
    def read(prompt: str) -> str:
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        console.print(f"{prompt}{line.rstrip()}", markup=False, highlight=False)
        return line

    return read


def _prompt_reader(studio: Studio) -> Callable[[str], str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    home = midicli_home()
    home.mkdir(parents=True, exist_ok=True)
    session: PromptSession[str] = PromptSession(
        history=FileHistory(str(home / HISTORY_FILE)),
        completer=_completer(studio),
        complete_while_typing=False,
    )
    return session.prompt


def _completer(studio: Studio):  # type: ignore[no-untyped-def]
    """Completes command names first, then what each command takes."""
    from prompt_toolkit.completion import Completer, Completion

    def choices(name: str, word: str) -> Iterable[str]:
        if name == "render":
            from midicli.render import formats

            return formats()
        if name == "adapter":
            return [a.name for a in studio.project.adapters()] + [NO_ADAPTER]
        if name == "edit":
            return TIME_STYLES
        if name not in REF_COMMANDS:
            return []
        pieces = studio.project.pieces()
        if "@" in word:
            return [f"{p.name}@{v}" for p in pieces for v in range(1, p.latest + 1)]
        return [p.name for p in pieces]

    class StudioCompleter(Completer):
        def get_completions(self, document, complete_event):  # type: ignore[no-untyped-def]
            before = document.text_before_cursor
            word = document.get_word_before_cursor(WORD=True)
            words = before.split()
            if len(words) <= 1 and not before.endswith(" "):
                options: Iterable[str] = c.NAMES
            else:
                options = choices(c.ALIASES.get(words[0], words[0]), word)
            for option in options:
                if option.startswith(word):
                    yield Completion(option, start_position=-len(word))

    return StudioCompleter()


# -- running one command -----------------------------------------------------------------


def _run(studio: Studio, console: Console, command: c.Command) -> None:
    match command:
        case c.Compose(text, n, edit):
            words = _words(studio, text, edit)
            if words is None:
                raise MidicliError(
                    "say what to compose: compose a calm piano waltz (or compose -e to write it in "
                    "$EDITOR)"
                )
            _generated(studio, console, lambda p: studio.compose(words, n, p), n)
        case c.Continue(seconds, text, n, edit):
            words = _words(studio, text, edit)
            _generated(studio, console, lambda p: studio.continue_(seconds, words, n, p), n)
        case c.Infill(start, end, text, n, edit):
            words = _words(studio, text, edit)
            _generated(studio, console, lambda p: studio.infill(start, end, words, n, p), n)
        case c.Again(n):
            _generated(studio, console, lambda p: studio.again(n, p), n)
        case c.Keep(k):
            for p in studio.keep(k):
                console.print(
                    f"Recorded #{p.id}: [bold]{p.chosen}[/bold] over {p.rejected}", highlight=False
                )
            console.print(f"Current: [bold]{studio.current.ref}[/bold]", highlight=False)
        case c.Prefer(better, worse):
            p = studio.prefer(better, worse)
            console.print(
                f"Recorded #{p.id}: [bold]{p.chosen}[/bold] over {p.rejected}", highlight=False
            )
        case c.Undo():
            _moved(studio, console, studio.undo())
        case c.Redo():
            _moved(studio, console, studio.redo())
        case c.Open(ref):
            _show_version(studio, console, studio.open(ref).current)  # type: ignore[arg-type]
        case c.ListPieces():
            rows = [
                (
                    s.name,
                    s.versions,
                    f"@{s.latest} {s.operation}",
                    f"{s.duration or 0:.1f}",
                    s.notes,
                )
                for s in studio.project.pieces()
            ]
            print_table(
                None, _kept("piece", "versions", "latest", "seconds", "notes"), rows, to=console
            )
        case c.History(name):
            _history(studio, console, name or studio.current.piece)
        case c.Show(ref):
            _show_version(studio, console, studio.project.resolve(ref) if ref else studio.current)
        case c.Render(fmt):
            from midicli.render import render_version

            record = studio.current
            with console.status(f"Rendering {record.ref} as {fmt or 'wav'}…"):
                path = render_version(studio.project, record, fmt or "wav")
            console.print(f"Wrote {path}", highlight=False)
        case c.Play():
            from midicli.render import render_version
            from midicli.studio.player import play

            record = studio.current
            with console.status(f"Rendering {record.ref}…"):
                path = render_version(studio.project, record, "wav")
            console.print(f"Playing {record.ref} (Ctrl-C stops)…", highlight=False)
            play(path)
        case c.Edit(time):
            record = edit_notes(studio.project, studio.current, time)
            if record is None:
                console.print("No changes: nothing stored.")
            else:
                studio.edited(record)
                console.print(
                    f"Saved [bold]{record.ref}[/bold] ({record.notes} notes)", highlight=False
                )
        case c.Model(name):
            if name:
                studio.use_model(name)
            _model(studio, console)
        case c.Adapter(name):
            if name:
                studio.use_adapter(name)
            _model(studio, console)
        case c.Help():
            print_table(
                None, [Col("command", "keep"), Col("what it does")], c.USAGE.values(), to=console
            )
            console.print(
                "Times: seconds (12.5), bars (9b) or bar:beat (9:3). Candidates are numbered as "
                "shown after "
                "each generation. `undo`/`redo` move between what you had on screen; nothing is "
                "ever deleted."
            )


def _model(studio: Studio, console: Console) -> None:
    state = "loaded" if studio.engine_loaded else "loads at the next request"
    console.print(f"Model: {studio.model_description()} ({state})", highlight=False)


def _words(studio: Studio, text: str | None, edit: bool) -> str | None:
    """The words for the model: as typed, or written in $EDITOR from the last ones."""
    if not edit:
        return text
    words = edit_description(text or studio.description or "")
    if words is None:
        raise MidicliError("no description written: nothing asked")
    return words


def _generated(
    studio: Studio, console: Console, ask: Callable[..., list[Created]], n: int | None
) -> None:
    if not studio.engine_loaded:
        with console.status(f"Loading {studio.model_description()}…"):
            studio.engine()
    with generation_progress(
        n or studio.settings.n, studio.settings.max_tokens, to=console
    ) as progress:
        created = ask(progress)
    new = {item.record.id: len(item.candidate.notes) for item in created}
    _candidates(studio, console, new)


def _candidates(studio: Studio, console: Console, new: dict[int, int] | None = None) -> None:
    """The candidates on screen with a one-line sketch each; the current one marked."""
    step = studio.step
    pieces = [studio.project.load_piece(r) for r in step.candidates]
    window = step.window
    lines = sketches(pieces, window, width=max(8, min(40, console.width - 66)))
    span = f"{window[0]:.1f}–{window[1]:.1f} s" if window else "whole piece"
    rows = [
        (
            f"{CURRENT if r.id == getattr(step.current, 'id', None) else ''}{i}",
            r.ref,
            f"{r.duration or 0:.1f}",
            r.notes,
            *([new.get(r.id, 0)] if new else []),
            instruments_text(r.instruments, 2),
            line,
        )
        for i, (r, line) in enumerate(zip(step.candidates, lines), start=1)
    ]
    columns = [
        *_kept("#", "version", "s", "notes", *(["new"] if new else [])),
        Col("instruments", "cut", drop=2),
        Col("sketch", "keep", drop=1),
    ]  # on a narrow terminal the instruments go first, then the sketch
    print_table(None, columns, rows, to=console)
    console.print(
        f"Sketches: {span}. `keep K` chooses one, `again` asks again, `undo` goes back.",
        style="dim",
        highlight=False,
    )


def _moved(studio: Studio, console: Console, step: Step) -> None:
    if step.candidates:
        _candidates(studio, console)
    console.print(
        f"Current: [bold]{step.current.ref if step.current else 'none'}[/bold]", highlight=False
    )


def _show_version(studio: Studio, console: Console, record: VersionRecord) -> None:
    piece = studio.project.load_piece(record)
    [line] = sketches([piece])
    fields = [
        ("operation", record.operation),
        ("parent", record.parent or "—"),
        ("text", record.text or "—"),
        ("length", f"{piece.duration:.2f} s, {len(piece.notes)} notes"),
        ("instruments", instruments_text(record.instruments, 4)),
        ("sketch", line),
    ]
    print_table(record.ref, [Col(""), Col("")], fields, to=console)


def _history(studio: Studio, console: Console, name: str) -> None:
    records = studio.project.history(studio.project.resolve(name).piece)
    current = getattr(studio.step.current, "id", None)
    print_table(
        name,
        [*_kept("version", "operation", "parent"), Col("text"), *_kept("seconds", "notes")],
        [
            (
                f"{CURRENT if r.id == current else ''}@{r.number}",
                r.operation,
                r.parent or "—",
                r.text or "",
                f"{r.duration or 0:.1f}",
                r.notes,
            )
            for r in records
        ],
        to=console,
    )


def _kept(*headers: str) -> list[Col]:
    """Columns kept whole: each row of a studio table stays on one line."""
    return [Col(header, "keep") for header in headers]
