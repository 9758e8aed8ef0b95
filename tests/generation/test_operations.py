"""compose, continue and infill on the tiny scaffold model, through the library: what a
user would check by ear — the right notes changed and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import AMT_FIXTURES

from midicli.engines.base import SamplingParams
from midicli.engines.pool import open_engine
from midicli.generation import operations
from midicli.generation.prompt import system_prompt
from midicli.generation.span import Constraints
from midicli.music.instruments import parse_instruments
from midicli.music.midi_io import read_midi
from midicli.project import Project
from midicli.tokenizers.vocab import AUTOREGRESS

LONG = AMT_FIXTURES / "strawberry.mid"  # 270 s, 13 instruments
SHORT = AMT_FIXTURES / "bach_bwv66_6.mid"


@pytest.fixture
def engine(tiny_model_dir: Path):
    return open_engine("transformers", str(tiny_model_dir), device="cpu")


@pytest.fixture
def project(tmp_path: Path):
    with Project.init(tmp_path / "songs") as project:
        yield project


def key(note) -> tuple:
    return (round(note.onset, 3), round(note.duration, 3), note.pitch, note.instrument)


def unchanged(a, b) -> bool:
    """Same notes (onset, duration, pitch, instrument) up to the 1 ms a MIDI file round trip may
    move them."""
    order = lambda n: (n.instrument, n.pitch, n.onset)  # noqa: E731
    a, b = sorted(a, key=order), sorted(b, key=order)
    return len(a) == len(b) and all(
        (x.pitch, x.instrument) == (y.pitch, y.instrument)
        and abs(x.onset - y.onset) < 2e-3
        and abs(x.duration - y.duration) < 2e-3
        for x, y in zip(a, b)
    )


def test_the_system_prompt_is_midi_llms() -> None:
    assert system_prompt() == (
        "You are a world-class composer. Please compose some music according to the following "
        "description: "
    )


def test_compose_prompt_is_midi_llms_layout_byte_for_byte(project, engine) -> None:
    text = "A calm piano waltz"
    created = operations.compose(
        project, engine, text, SamplingParams(n=1, max_new_tokens=30, seed=1)
    )
    tokenizer = engine.tokenizer
    words = tokenizer.tokenize(system_prompt() + text + " ")
    expected = [
        tokenizer.bos_token_id,
        *tokenizer.convert_tokens_to_ids(words),
        engine.text_vocab_size + AUTOREGRESS,
    ]
    assert created[0].record.manifest["prompt_ids"] == expected


def test_compose_makes_n_valid_pieces_stored_with_their_parameters(project, engine) -> None:
    sampling = SamplingParams(n=3, max_new_tokens=90, seed=7, temperature=0.9, top_p=0.95)
    created = operations.compose(project, engine, "A calm piano waltz", sampling)
    assert [c.record.ref for c in created] == [
        "calm-piano-waltz-1@1",
        "calm-piano-waltz-2@1",
        "calm-piano-waltz-3@1",
    ]
    for c in created:
        piece = read_midi(project.root / c.record.midi_path)  # a real MIDI file that reads back
        assert len(piece.notes) == len(c.candidate.notes) > 0
        assert c.record.params["temperature"] == 0.9 and c.record.params["top_p"] == 0.95
        assert c.record.seed == 7 and c.record.engine == "transformers" and c.record.model_hash
        assert c.record.operation == "compose" and c.record.text == "A calm piano waltz"


def test_the_same_seed_gives_the_same_notes(project, engine) -> None:
    sampling = SamplingParams(n=2, max_new_tokens=60, seed=3)
    first = operations.compose(project, engine, "drums", sampling)
    again = operations.compose(project, engine, "drums", sampling)
    other = operations.compose(
        project, engine, "drums", SamplingParams(n=2, max_new_tokens=60, seed=4)
    )
    assert [list(map(key, c.candidate.notes)) for c in first] == [
        list(map(key, c.candidate.notes)) for c in again
    ]
    assert [list(map(key, c.candidate.notes)) for c in first] != [
        list(map(key, c.candidate.notes)) for c in other
    ]


def test_an_instrument_allow_list_is_obeyed(project, engine) -> None:
    allowed = parse_instruments("piano,drums")
    created = operations.compose(
        project,
        engine,
        "jazz",
        SamplingParams(n=2, max_new_tokens=150, seed=2),
        Constraints(allowed),
    )
    assert {n.instrument for c in created for n in c.candidate.notes} <= allowed


def test_infill_changes_only_the_range(project, engine) -> None:
    original = project.import_midi(LONG, name="song")
    before = project.load_piece(original)
    start, end = 150.0, 200.0
    created = operations.infill(
        project,
        engine,
        "song",
        start,
        end,
        "calmer",
        SamplingParams(n=4, max_new_tokens=90, seed=5),
    )
    assert len(created) == 4 and {c.record.parent for c in created} == {"song@1"}
    outside = [n for n in before.notes if not start <= n.onset < end]
    new_notes = 0
    for c in created:
        after = project.load_piece(c.record)
        assert unchanged([n for n in after.notes if not start <= n.onset < end], outside)
        assert all(start <= n.onset < end for n in c.candidate.notes)
        new_notes += len(c.candidate.notes)
    assert new_notes > 0, "the model wrote nothing in the range: the test proves nothing"


def test_infill_one_instrument_leaves_the_others_untouched(project, engine) -> None:
    project.import_midi(LONG, name="song")
    before = project.load_piece(project.resolve("song"))
    bass = 35  # Fretless Bass
    start, end = 150.0, 200.0
    created = operations.infill(
        project,
        engine,
        "song",
        start,
        end,
        None,
        SamplingParams(n=4, max_new_tokens=90, seed=6),
        instrument=bass,
    )

    def rewritten(n) -> bool:
        return start <= n.onset < end and n.instrument == bass

    kept = [n for n in before.notes if not rewritten(n)]
    new_notes = 0
    for c in created:
        after = project.load_piece(c.record)
        assert unchanged([n for n in after.notes if not rewritten(n)], kept)
        assert all(n.instrument == bass and start <= n.onset < end for n in c.candidate.notes)
        new_notes += len(c.candidate.notes)
    assert new_notes > 0, "the model wrote no bass in the range: the test proves nothing"


def test_continue_keeps_the_piece_and_goes_past_100_seconds(project, engine) -> None:
    """270 s in, 90 s more: past what one window's arrival times reach from the
    context, so the window slides over several rounds."""
    project.import_midi(LONG, name="song")
    before = project.load_piece(project.resolve("song"))
    created = operations.continue_piece(
        project, engine, "song", 90.0, None, SamplingParams(n=2, max_new_tokens=120, seed=8)
    )
    for c in created:
        after = project.load_piece(c.record)
        assert unchanged([n for n in after.notes if n.onset < before.duration - 1e-6], before.notes)
        assert all(
            before.duration - 1e-6 <= n.onset < before.duration + 90.0 for n in c.candidate.notes
        )
    assert before.duration > 100 and any(c.candidate.notes for c in created)
    assert max(c.candidate.rounds for c in created) > 1


# --- with the bundled mini: what a musician hears -----------------------------------


@pytest.fixture(scope="module")
def mini():
    return open_engine("transformers", "mini", device="cpu")


def shifted_chorale(tmp_path: Path, seconds: float) -> Path:
    """The chorale moved so it ends ``seconds`` in: near AMT's 100 s horizon."""
    from dataclasses import replace

    from midicli.music.midi_io import write_midi
    from midicli.music.piece import Piece

    chorale = read_midi(SHORT)
    shift = seconds - chorale.duration
    path = tmp_path / "late.mid"
    write_midi(Piece([replace(n, onset=n.onset + shift) for n in chorale.notes]), path)
    return path


@pytest.mark.parametrize("seconds", [5.0, 12.0])
def test_continue_fills_the_asked_length_even_at_the_horizon(
    project, mini, tmp_path, seconds
) -> None:
    project.import_midi(shifted_chorale(tmp_path, 99.5), name="late")
    before = project.load_piece(project.resolve("late"))
    created = operations.continue_piece(
        project, mini, "late", seconds, None, SamplingParams(n=2, seed=1)
    )
    beat = 0.5  # the grammar's fill slack: a beat at 120 bpm
    for c in created:
        after = project.load_piece(c.record)
        assert (
            before.duration + seconds - beat - 2e-3
            <= after.duration
            <= before.duration + seconds + 2e-3
        )
        assert c.candidate.notes


def test_continue_and_infill_keep_the_pieces_instruments(project, mini) -> None:
    project.import_midi(SHORT, name="chorale")
    own = {n.instrument for n in project.load_piece(project.resolve("chorale")).notes}
    sampling = SamplingParams(n=2, seed=4)
    words = (
        "A festive piece featuring church organ, trumpet and drums."  # words that ask for others
    )
    extended = operations.continue_piece(project, mini, "chorale", 10.0, words, sampling)
    filled = operations.infill(project, mini, "chorale", 4.0, 12.0, words, sampling)
    new = [n for c in extended + filled for n in c.candidate.notes]
    assert new and {n.instrument for n in new} <= own
    chosen = operations.continue_piece(
        project, mini, "chorale", 6.0, words, sampling, Constraints(frozenset({19}))
    )
    assert {n.instrument for c in chosen for n in c.candidate.notes} == {
        19
    }  # --instruments still chooses


def test_compose_makes_a_piece_of_the_asked_length(project, mini) -> None:
    created = operations.compose(
        project, mini, "A calm piece featuring piano.", SamplingParams(n=2, seed=2), seconds=20.0
    )
    for c in created:
        assert 19.5 - 2e-3 <= project.load_piece(c.record).duration <= 20.0 + 2e-3


def test_best_of_draws_more_and_keeps_the_top_scores_in_order(project, mini) -> None:
    words = "A piece featuring violin. Set in the key of G major."
    created = operations.compose(
        project,
        mini,
        words,
        SamplingParams(n=2, seed=3),
        seconds=10.0,
        drawing=operations.Drawing(best_of=6, key_lean=0.0),
    )
    scores = [c.ranking.score for c in created]
    assert len(created) == 2 and scores == sorted(scores, reverse=True)
    drawn = operations.compose(
        project,
        mini,
        words,
        SamplingParams(n=6, seed=3),
        seconds=10.0,
        drawing=operations.Drawing(best_of=6, key_lean=0.0),
    )
    assert (
        scores == sorted((c.ranking.score for c in drawn), reverse=True)[:2]
    )  # the same six drawn, the best kept
    assert created[0].record.manifest["ranking"]["parts"].keys() >= {"key", "instruments", "music"}


def test_a_piece_longer_than_one_window_goes_on_in_the_next_without_piling_at_the_horizon(
    project, mini
) -> None:
    created = operations.compose(
        project,
        mini,
        "A lively piece featuring fiddle.",
        SamplingParams(n=1, seed=5),
        seconds=115.0,
    )
    notes = project.load_piece(created[0].record).notes
    assert created[0].candidate.rounds > 1 and max(n.onset for n in notes) > 105.0
    assert not [n for n in notes if abs(n.onset - 99.99) < 0.006]


def test_best_of_and_the_key_lean_come_from_the_command_then_the_project_then_the_model(
    project, mini
) -> None:
    def made(**drawing) -> dict:
        created = operations.compose(
            project,
            mini,
            "A piece featuring violin. Set in the key of A minor.",
            SamplingParams(n=1, seed=6),
            seconds=5.0,
            drawing=operations.Drawing(**drawing),
        )
        return created[0].record.params

    assert (made()["best_of"], made()["key_lean"]) == (8, 2.0)  # mini's generation_config.json
    project.config.best_of, project.config.key_lean = 3, 0.5
    project.save_config()
    assert (made()["best_of"], made()["key_lean"]) == (3, 0.5)
    assert (made(best_of=2, key_lean=0.0)["best_of"], made(key_lean=0.0)["key_lean"]) == (2, 0.0)
