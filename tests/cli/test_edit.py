"""A user edits a piece's notes as text in their $EDITOR, exports and imports notes
text, and writes a long description in the editor; mistakes never store anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from support import AMT_FIXTURES, files_under

from midicli.music.midi_io import read_midi
from midicli.music.notes_text import from_text, parse_pitch

EDITOR_HEAD = """\
import pathlib, sys
path = pathlib.Path(sys.argv[1])
text = path.read_text()
calls = pathlib.Path(__file__).with_suffix(".calls")
call = int(calls.read_text()) + 1 if calls.exists() else 1
calls.write_text(str(call))
pathlib.Path(__file__).with_suffix(f".seen{call}").write_text(text)
"""


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Make $EDITOR a script: ``body`` runs with ``path``, ``text`` and ``call`` (1, 2, …)
    set; what the editor was shown each time is returned by ``seen(call)``."""
    script = tmp_path / "editor.py"

    def use(body: str) -> None:
        script.write_text(EDITOR_HEAD + body)
        monkeypatch.delenv("VISUAL", raising=False)
        monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")

    use.seen = lambda call: (tmp_path / f"editor.seen{call}").read_text()  # type: ignore[attr-defined]
    use.calls = lambda: (
        int((tmp_path / "editor.calls").read_text()) if (tmp_path / "editor.calls").exists() else 0
    )  # type: ignore[attr-defined]
    return use


@pytest.fixture
def chorale(cli):
    cli("import", str(AMT_FIXTURES / "bach_bwv66_6.mid"), "--name", "chorale")
    return cli


FIRST_NOTE_TO_C2 = """
lines = text.splitlines()
i = next(i for i, l in enumerate(lines) if l.strip() and not l.startswith(("#", "tempo", "meter")))
words = lines[i].split()
lines[i] = lines[i].replace(" " + words[-2] + " ", " C2 ")
path.write_text("\\n".join(lines) + "\\n")
"""


def test_changing_a_pitch_in_the_editor_makes_a_version_with_exactly_that_change(
    chorale, editor
) -> None:
    editor(FIRST_NOTE_TO_C2)
    out = chorale.json("edit", "chorale")
    assert out["created"] == ["chorale@2"]
    history = chorale.json("history", "chorale")
    assert [(v["ref"], v["operation"], v["parent"]) for v in history] == [
        ("chorale@1", "import", None),
        ("chorale@2", "edit", "chorale@1"),
    ]
    before = read_midi(chorale.root / history[0]["midi"]).notes
    after = read_midi(chorale.root / history[1]["midi"]).notes
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and len(changed) == 1
    ((old, new),) = changed
    assert new.pitch == parse_pitch("C2") and (
        old.onset,
        old.duration,
        old.instrument,
        old.velocity,
    ) == (new.onset, new.duration, new.instrument, new.velocity)
    assert "chorale@1" in editor.seen(1) and "Acoustic Grand Piano" in editor.seen(1)


def test_editing_in_bars_and_beats_shows_bar_positions(chorale, editor) -> None:
    editor(FIRST_NOTE_TO_C2)
    assert chorale.json("edit", "chorale", "--time", "bars")["created"] == ["chorale@2"]
    assert "meter 4/4" in editor.seen(1) and "      1:1" in editor.seen(1)


def test_quitting_without_saving_changes_nothing(chorale, editor) -> None:
    editor("")  # opens, reads, leaves
    before = files_under(chorale.root)
    result = chorale("edit", "chorale")
    assert "No changes" in result.stderr
    assert files_under(chorale.root) == before and len(chorale.json("history", "chorale")) == 1


def test_editing_only_comments_stores_nothing(chorale, editor) -> None:
    editor('path.write_text(text + "# I looked, it is fine\\n")')
    assert chorale.json("edit", "chorale")["created"] == []
    assert len(chorale.json("history", "chorale")) == 1


def test_a_bad_line_reopens_the_editor_with_the_problem_marked(chorale, editor) -> None:
    editor("""
if call == 1:
    path.write_text(text + "0.5  0.25  Pianoo  C4  80\\n")
else:
    path.write_text(text.replace("Pianoo", "Piano"))
""")
    assert chorale.json("edit", "chorale")["created"] == ["chorale@2"]
    assert editor.calls() == 2
    marked = editor.seen(2).splitlines()
    bad = marked.index("0.5  0.25  Pianoo  C4  80")
    assert (
        marked[bad - 1].startswith("#! error") and "unknown instrument 'Pianoo'" in marked[bad - 1]
    )
    assert marked[0].startswith("#! 1 problem")
    piece = read_midi(chorale.root / chorale.json("show", "chorale@2")["midi"])
    assert len(piece.notes) == 164  # the added note, nothing else


def test_a_bad_line_then_quitting_stores_nothing(chorale, editor) -> None:
    editor("""
if call == 1:
    path.write_text(text + "0.5  -1  piano  C4  80\\n")
""")
    before = files_under(chorale.root)
    assert chorale.json("edit", "chorale")["created"] == []
    assert "must not be negative" in editor.seen(2)
    assert files_under(chorale.root) == before


def test_a_failing_editor_is_one_line_and_changes_nothing(chorale, editor) -> None:
    editor("sys.exit(3)")
    assert "exited with status 3" in chorale.fails("edit", "chorale")
    assert len(chorale.json("history", "chorale")) == 1


@pytest.mark.parametrize("time", ["seconds", "bars"])
def test_export_to_notes_and_import_back(chorale, tmp_path: Path, time: str) -> None:
    out = tmp_path / "chorale.notes"
    chorale("export", "chorale", str(out), "--time", time)
    created = chorale.json("import", str(out))["created"]
    assert created == ["chorale-1@1"]  # named from the file, made unique
    original = read_midi(chorale.root / chorale.json("show", "chorale")["midi"]).notes
    back = read_midi(chorale.root / chorale.json("show", "chorale-1")["midi"]).notes
    assert [(n.pitch, n.instrument, n.velocity) for n in back] == [
        (n.pitch, n.instrument, n.velocity) for n in original
    ]
    assert max(abs(a.onset - b.onset) for a, b in zip(back, original)) < 0.002


def test_export_notes_to_standard_output(chorale) -> None:
    text = chorale("export", "chorale", "-", "--to", "notes").stdout
    assert len(from_text(text).notes) == 163 and text.startswith("# midicli notes: chorale@1")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("0 1 kazooo C4 80", "unknown instrument"),
        ("0 -1 piano C4 80", "must not be negative"),
        ("@@@ garbage", "expected onset, duration, instrument, pitch and velocity"),
    ],
)
def test_importing_bad_notes_text_names_the_line_and_stores_nothing(
    chorale, tmp_path: Path, line: str, reason: str
) -> None:
    bad = tmp_path / "bad.notes"
    bad.write_text(f"tempo 100\n0 1 piano C4 80\n{line}\n")
    before = files_under(chorale.root)
    message = chorale.fails("import", str(bad))
    assert "bad.notes line 3:" in message and reason in message and line in message
    assert files_under(chorale.root) == before


def test_compose_description_written_in_the_editor(cli, editor, tiny_model_dir: Path) -> None:
    editor("""
path.write_text(
    "A slow, sad cello solo\\nwith a long rubato ending\\n"
    "# (this comment is ignored)\\n"
)
""")
    out = cli.json(
        "compose",
        "-e",
        "-n",
        "1",
        "--max-tokens",
        "30",
        "--seed",
        "1",
        "--model",
        str(tiny_model_dir),
    )
    assert out["candidates"][0]["text"] == "A slow, sad cello solo with a long rubato ending"
    assert out["created"] == ["slow-sad-cello-1@1"]


def test_compose_editor_quit_without_saving_composes_nothing(
    cli, editor, tiny_model_dir: Path
) -> None:
    editor("")
    assert "nothing composed" in cli.fails("compose", "-e", "--model", str(tiny_model_dir))
    assert json.loads(cli("list", "--json").stdout) == []
