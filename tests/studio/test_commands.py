"""What a user types at the studio prompt, read as they mean it."""

from __future__ import annotations

import pytest

from midicli.studio import commands as c
from midicli.studio.commands import StudioSyntaxError, parse


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("compose a calm waltz, don't rush", c.Compose("a calm waltz, don't rush")),
        ('compose "upbeat jazz"', c.Compose("upbeat jazz")),
        ("compose -n 2 -e sad cello", c.Compose("sad cello", n=2, edit=True)),
        ("compose -e", c.Compose(None, edit=True)),
        ("continue", c.Continue(None, None)),
        ("continue 30 louder now", c.Continue("30", "louder now")),
        ("continue 8b", c.Continue("8b", None)),
        ("continue with drums", c.Continue(None, "with drums")),
        ("continue -n 3 12.5s", c.Continue("12.5s", None, n=3)),
        ("infill 9b 17b make it calmer", c.Infill("9b", "17b", "make it calmer")),
        ("infill -n 2 0 1.5", c.Infill("0", "1.5", None, n=2)),
        ("again", c.Again()),
        ("again 3", c.Again(3)),
        ("keep 2", c.Keep(2)),
        ("pick 1", c.Keep(1)),
        ("prefer 1 2", c.Prefer("1", "2")),
        ("prefer song@3 song@4", c.Prefer("song@3", "song@4")),
        ("undo", c.Undo()),
        ("redo", c.Redo()),
        ("open song@2", c.Open("song@2")),
        ("history", c.History()),
        ("show song", c.Show("song")),
        ("render png", c.Render("png")),
        ("render", c.Render()),
        ("play", c.Play()),
        ("edit", c.Edit()),
        ("edit bars", c.Edit("bars")),
        ("model", c.Model()),
        ("model ./models/tiny", c.Model("./models/tiny")),
        ("adapter none", c.Adapter("none")),
        ("help", c.Help()),
        ("?", c.Help()),
        ("quit", c.Quit()),
        ("EXIT", c.Quit()),
        ("ls", c.ListPieces()),
    ],
)
def test_lines_become_commands(line: str, command: c.Command) -> None:
    assert parse(line) == command


def test_a_blank_line_is_nothing() -> None:
    assert parse("   ") is None


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("sing", "unknown command 'sing'"),
        ("infill 9b", "usage: infill"),
        ("keep", "usage: keep"),
        ("keep two", "usage: keep"),
        ("keep 0", "usage: keep"),
        ("prefer 1", "usage: prefer"),
        ("compose -n x waltz", "-n takes a number"),
        ("again -1", "usage: again"),
        ("undo 2", "usage: undo"),
        ("open", "usage: open"),
        ("edit beats", "usage: edit"),
        ("redo 3", "use `again 3`"),
    ],
)
def test_mistakes_say_how_to_write_the_command(line: str, words: str) -> None:
    with pytest.raises(StudioSyntaxError, match=words.replace("(", r"\(")):
        parse(line)


def test_help_covers_every_command_and_again_is_not_redo() -> None:
    assert set(c.USAGE) >= {
        "compose",
        "continue",
        "infill",
        "again",
        "keep",
        "prefer",
        "undo",
        "redo",
        "history",
        "show",
        "render",
        "play",
        "edit",
        "model",
        "adapter",
        "help",
        "quit",
    }
    assert (
        "ask the last request again" in c.USAGE["again"][1] and "after undo" in c.USAGE["redo"][1]
    )
