"""A user brings MIDI files into a project, looks around, exports, removes — and bad
input is refused in one line without touching the project."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest
from support import FIXTURE_MIDIS, files_under
from typer.testing import CliRunner

from midicli.cli.main import app
from midicli.music.midi_io import read_midi
from midicli.project.files import FILE_MODE


def same_notes(a, b, tolerance: float = 0.0105) -> bool:
    key = lambda n: (round(n.onset, 2), n.pitch, n.instrument)  # noqa: E731
    a, b = sorted(a, key=key), sorted(b, key=key)
    return len(a) == len(b) and all(
        x.pitch == y.pitch
        and x.instrument == y.instrument
        and abs(x.onset - y.onset) <= tolerance
        and abs(x.duration - y.duration) <= tolerance
        for x, y in zip(a, b)
    )


@pytest.mark.parametrize("midi", FIXTURE_MIDIS, ids=lambda p: p.stem)
def test_import_show_export_round_trips_the_notes(cli, tmp_path: Path, midi: Path) -> None:
    created = cli.json("import", str(midi))["created"]
    assert created == [f"{midi.stem.replace('_', '-')}@1"]
    shown = cli.json("show", created[0])
    original = read_midi(midi)
    assert shown["notes"] == len(original.notes) and shown["operation"] == "import"
    out = tmp_path / "out.mid"
    cli("export", created[0], str(out))
    assert same_notes(read_midi(out).notes, original.notes)
    assert out.stat().st_mode & 0o777 == FILE_MODE != 0o600  # readable by others, as the umask says


def test_list_and_history_describe_the_project(cli) -> None:
    cli("import", str(FIXTURE_MIDIS[0]), "--name", "chorale")
    cli("import", str(FIXTURE_MIDIS[1]), "--name", "second")
    listing = cli.json("list")
    assert [p["name"] for p in listing] == ["chorale", "second"]
    assert all(p["versions"] == 1 and p["notes"] > 0 for p in listing)
    table = cli("list").stdout
    assert "chorale" in table and "second" in table
    history = cli.json("history", "chorale")
    assert [v["ref"] for v in history] == ["chorale@1"]


def test_rm_asks_for_confirmation_then_removes(cli) -> None:
    cli("import", str(FIXTURE_MIDIS[0]), "--name", "chorale")
    cli.fails("rm", "chorale")  # no terminal to ask on, no --yes
    assert [p["name"] for p in cli.json("list")] == ["chorale"]
    cli("rm", "chorale", "--yes")
    assert cli.json("list") == []
    assert not (cli.root / "pieces" / "chorale").exists()


def test_rm_says_a_bare_name_removes_every_version_and_offers_one_version(cli) -> None:
    help_text = " ".join(cli("rm", "--help").stdout.replace("│", " ").split())
    assert (
        "NAME removes the whole piece, every version" in help_text
        and "NAME@N removes version N only" in help_text
    )
    assert "latest version" not in help_text
    cli("import", str(FIXTURE_MIDIS[0]), "--name", "chorale")
    assert "chorale and all its versions (rm chorale@N removes one)" in cli.fails("rm", "chorale")
    assert "Removed chorale@1" in cli("rm", "chorale@1", "--yes").stdout


def test_init_refuses_an_existing_project(cli) -> None:
    assert "already" in cli.fails("init", str(cli.root))


def _bad_midis(tmp_path: Path) -> dict[str, Path]:
    text = tmp_path / "notes.mid"
    text.write_text("these are not the notes you are looking for")
    truncated = tmp_path / "truncated.mid"
    truncated.write_bytes(FIXTURE_MIDIS[0].read_bytes()[:300])
    silent = tmp_path / "silent.mid"
    song = mido.MidiFile()
    song.tracks.append(
        mido.MidiTrack(
            [mido.MetaMessage("set_tempo", tempo=500000), mido.Message("program_change", program=3)]
        )
    )
    song.save(silent)
    return {"not midi": text, "truncated": truncated, "no notes": silent}


@pytest.mark.parametrize("case", ["not midi", "truncated", "no notes"])
def test_bad_midi_files_are_refused_and_nothing_changes(cli, tmp_path: Path, case: str) -> None:
    cli("import", str(FIXTURE_MIDIS[0]), "--name", "keep")
    before = files_under(cli.root), cli.json("list")
    message = cli.fails("import", str(_bad_midis(tmp_path)[case]))
    assert _bad_midis(tmp_path)[case].name in message
    assert (files_under(cli.root), cli.json("list")) == before


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "UPPER CASE!", ""])
def test_piece_names_that_could_escape_or_confuse_are_refused(cli, name: str) -> None:
    before = files_under(cli.root)
    message = cli.fails("import", str(FIXTURE_MIDIS[0]), "--name", name)
    assert "name" in message
    assert files_under(cli.root) == before


@pytest.mark.parametrize(
    ("ref", "words"), [("ghost", "no piece named 'ghost'"), ("chorale@7", "no version 7")]
)
def test_missing_pieces_and_versions_are_named(cli, ref: str, words: str) -> None:
    cli("import", str(FIXTURE_MIDIS[0]), "--name", "chorale")
    for command in (
        ["show", ref],
        ["export", ref, "x.mid"],
        ["history", ref.split("@")[0]] if "@" not in ref else ["show", ref],
    ):
        assert words in cli.fails(*command)


def test_export_to_an_unwritable_place_is_one_line(cli, tmp_path: Path) -> None:
    cli("import", str(FIXTURE_MIDIS[0]), "--name", "chorale")
    assert "cannot write" in cli.fails(
        "export", "chorale", str(tmp_path / "no" / "such" / "dir" / "x.mid")
    )


def test_outside_any_project_reading_commands_say_how_to_start(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 2
    assert "midicli init" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert files_under(tmp_path) == []


def test_outside_any_project_import_uses_the_default_project(
    tmp_path: Path, monkeypatch, midicli_home: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["import", str(FIXTURE_MIDIS[0])])
    assert result.exit_code == 0, result.output
    assert "default project" in result.stderr
    assert (midicli_home / "default" / "midicli.toml").is_file()
    assert "bach-bwv66-6" in CliRunner().invoke(app, ["list"]).stdout.replace("\n", "")


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "v1.mid").write_bytes(FIXTURE_MIDIS[1].read_bytes())
    return victim


def test_database_paths_out_of_the_project_are_refused(cli, tmp_path: Path) -> None:
    import sqlite3

    victim = _victim(tmp_path)
    cli("import", str(FIXTURE_MIDIS[0]), "--name", "chorale")
    with sqlite3.connect(cli.root / "midicli.db") as db:
        db.execute("UPDATE versions SET midi_path = ?", (str(victim / "v1.mid"),))
    for command in (
        ["export", "chorale", str(tmp_path / "out.mid")],
        ["render", "chorale", "--to", "png"],
    ):
        assert "outside" in cli.fails(*command)
    assert (
        sorted(p.name for p in victim.iterdir()) == ["v1.mid"]
        and not (tmp_path / "out.mid").exists()
    )


def test_a_piece_folder_linked_out_of_the_project_is_not_emptied(cli, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    cli("import", str(FIXTURE_MIDIS[0]), "--name", "chorale")
    (cli.root / "pieces" / "linked").symlink_to(victim)
    assert "outside" in cli.fails("import", str(FIXTURE_MIDIS[0]), "--name", "linked")
    cli("list")  # opening the project sweeps orphans: never inside the link
    assert (victim / "v1.mid").is_file()
    folder = cli.root / "pieces" / "chorale"
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()
    folder.symlink_to(victim)  # the piece exists, its folder now leads out
    assert "outside" in cli.fails("rm", "chorale", "--yes")
    assert "outside" in cli.fails("export", "chorale", str(tmp_path / "out.mid"))
    assert (victim / "v1.mid").is_file() and len(list(victim.iterdir())) == 1


def test_show_says_which_range_an_infill_rewrote(cli, tiny_model_dir: Path) -> None:
    cli("import", str(FIXTURE_MIDIS[0]), "--name", "chorale")
    model = ["--model", str(tiny_model_dir), "--max-tokens", "30", "--seed", "1"]
    [ref] = cli.json(
        "infill", "chorale", "--start", "2", "--end", "4.5", "--instrument", "0", *model
    )["created"]
    shown = cli("show", ref).stdout
    assert "rewrote" in shown and "2.00–4.50 s, Acoustic Grand Piano only" in shown
    assert "rewrote" not in cli("show", "chorale@1").stdout


def test_a_misspelt_setting_in_midicli_toml_is_pointed_out(cli) -> None:
    config = cli.root / "midicli.toml"
    config.write_text(config.read_text() + 'modle = "midi-llm"\n[my_plugin]\nvoice = "alto"\n')
    listed = cli("list")
    assert (
        "'modle' is not a midicli setting (kept as it is); did you mean 'model'?" in listed.stderr
    )
    assert "my_plugin" not in listed.stderr
