"""REMI on real files: bars and positions in, the same notes out (to the grid)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from midicli_remi.remi import BAR, OFFSETS, STEPS_PER_QUARTER, Remi, kind
from support import FIXTURE_MIDIS
from typer.testing import CliRunner

from midicli import plugins
from midicli.cli.main import app
from midicli.errors import BadTokensError
from midicli.music.midi_io import read_midi
from midicli.music.piece import Note, Piece, TempoChange, TimeSignature

remi = Remi()


def grid_seconds(tokens: list[int]) -> float:
    """One grid step in seconds, for the tempo the tokens declare."""
    bpm = Remi().decode(tokens).tempos[0].bpm
    return 60 / (bpm * STEPS_PER_QUARTER)


@pytest.mark.parametrize("path", FIXTURE_MIDIS, ids=lambda p: p.stem)
def test_real_files_come_back_note_for_note_to_within_half_a_grid_step(path: Path) -> None:
    piece = read_midi(path)
    tokens = remi.encode(piece)
    assert all(0 <= t < remi.vocab_size for t in tokens)
    back = remi.decode(tokens)
    step = grid_seconds(tokens)
    key = lambda n: (round(n.onset / step), n.instrument, n.pitch)  # noqa: E731
    assert len(back.notes) == len(piece.notes)
    for original, decoded in zip(sorted(piece.notes, key=key), sorted(back.notes, key=key)):
        assert (decoded.pitch, decoded.instrument) == (original.pitch, original.instrument)
        assert abs(decoded.onset - original.onset) <= step / 2 + 1e-9
        if (
            step < original.duration < 4 * 4 * STEPS_PER_QUARTER * step
        ):  # neither below the grid nor clipped
            assert abs(decoded.duration - original.duration) <= step / 2 + 1e-9


def test_a_waltz_is_written_in_bars_of_three() -> None:
    """At 120 bpm a 3/4 bar lasts 1.5 s: notes at 0, 1.5 and 3 s open three bars."""
    waltz = Piece(
        [Note(0.0, 0.5, 60), Note(1.5, 0.5, 64), Note(3.0, 0.5, 67)],
        [TempoChange(0, 120)],
        [TimeSignature(0, 3, 4)],
    )
    tokens = remi.encode(waltz)
    assert [kind(t)[0] for t in tokens].count("BAR") == 3
    assert [kind(t) for t in tokens if kind(t)[0] == "POSITION"] == [("POSITION", 0)] * 3
    assert remi.decode(tokens).time_signatures[0].numerator == 3


@pytest.mark.parametrize(
    "mutate, problem",
    [
        (lambda t: t[1:], "start with a TEMPO"),
        (lambda t: t[:3] + [t[3] + 40] + t[4:], "POSITION"),  # out of order, or past the bar's end
        (lambda t: t[:-1], "PROGRAM PITCH VELOCITY DURATION"),
        (lambda t: t + [99_999], "outside the REMI vocabulary"),
    ],
)
def test_broken_token_lists_are_refused_naming_the_problem(mutate, problem: str) -> None:
    tokens = remi.encode(read_midi(FIXTURE_MIDIS[0]))
    assert tokens[2] == BAR and kind(tokens[3])[0] == "POSITION"
    with pytest.raises(BadTokensError, match=problem):
        remi.decode(mutate(tokens))


def test_the_plugin_is_installed_and_works_from_the_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    song = FIXTURE_MIDIS[0]
    listed = json.loads(runner.invoke(app, ["plugins", "--json"]).stdout)
    assert {
        "name": "midicli-remi",
        "source": "package midicli-remi",
        "hooks": ["register_tokenizers"],
    } in listed["plugins"]
    assert "remi" in plugins.tokenizers()
    printed = runner.invoke(app, ["tokenize", str(song), "--tokenizer", "remi"])
    assert printed.exit_code == 0, printed.output
    (tmp_path / "song.json").write_text(printed.stdout)
    written = runner.invoke(
        app,
        ["detokenize", str(tmp_path / "song.json"), "-t", "remi", "-o", str(tmp_path / "back.mid")],
    )
    assert written.exit_code == 0, written.output
    assert len(read_midi(tmp_path / "back.mid").notes) == len(read_midi(song).notes)
    assert OFFSETS["TEMPO"] <= json.loads(printed.stdout)[0] < OFFSETS["METER"]
