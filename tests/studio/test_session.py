"""The studio's state: one warm engine, a current version that undo and redo move
without deleting anything, choices recorded as preferences, and a cancelled request
that leaves no trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import AMT_FIXTURES, files_under

from midicli.errors import MidicliError
from midicli.project import Project
from midicli.studio.session import Settings, Studio, StudioError


@pytest.fixture
def studio(tmp_path: Path, tiny_model_dir: Path) -> Studio:
    project = Project.init(tmp_path / "songs", model=str(tiny_model_dir))
    project.import_midi(
        AMT_FIXTURES / "edge_long_notes.mid", name="drone"
    )  # three notes: short prompts, quick tests
    return Studio(project, Settings(n=2, max_tokens=30, seed=1), "drone")


def test_the_engine_is_loaded_once_and_kept_warm(studio: Studio) -> None:
    assert not studio.engine_loaded
    engine = studio.engine()
    studio.infill("0", "2", None)
    studio.again()
    assert studio.engine() is engine


def test_compose_makes_candidates_and_the_first_is_current(studio: Studio) -> None:
    created = studio.compose("a calm waltz")
    assert [c.record.ref for c in created] == ["calm-waltz-1@1", "calm-waltz-2@1"]
    assert studio.current.ref == "calm-waltz-1@1" and [r.ref for r in studio.step.candidates] == [
        "calm-waltz-1@1",
        "calm-waltz-2@1",
    ]
    assert studio.description == "a calm waltz"


def test_undo_and_redo_move_the_pointer_and_never_delete(studio: Studio) -> None:
    studio.infill("0", "2", "brighter")
    assert studio.current.ref == "drone@2"
    studio.undo()
    assert studio.current.ref == "drone@1" and studio.step.candidates == ()
    assert [r.ref for r in studio.project.history("drone")] == ["drone@1", "drone@2", "drone@3"]
    studio.redo()
    assert studio.current.ref == "drone@2"
    studio.undo()
    studio.continue_("20", None)  # a new step drops the way forward, not the versions
    with pytest.raises(StudioError, match="nothing to redo"):
        studio.redo()
    assert [r.ref for r in studio.project.history("drone")] == [
        "drone@1",
        "drone@2",
        "drone@3",
        "drone@4",
        "drone@5",
    ]


def test_keep_records_the_choice_over_the_other_candidates(studio: Studio) -> None:
    studio.compose("a calm waltz")
    studio.keep(2)
    assert studio.current.ref == "calm-waltz-2@1"
    assert [(p.chosen, p.rejected, p.source) for p in studio.project.preferences()] == [
        ("calm-waltz-2@1", "calm-waltz-1@1", "pick")
    ]
    studio.undo()  # undo moves back; the judgement stays recorded
    assert studio.current.ref == "calm-waltz-1@1" and len(studio.project.preferences()) == 1


def test_prefer_takes_candidate_numbers_or_references(studio: Studio) -> None:
    studio.infill("0", "2", None)
    record = studio.prefer("2", "drone@2")
    assert (record.chosen, record.rejected, record.source) == ("drone@3", "drone@2", "prefer")
    with pytest.raises(StudioError, match="no candidate 3"):
        studio.keep(3)


def test_again_asks_the_same_request_with_a_new_seed(studio: Studio) -> None:
    first = studio.infill("0", "2", "brighter")
    studio.undo()
    again = studio.again(1)
    assert [c.record.parent for c in again] == [
        "drone@1"
    ]  # the same parent, wherever the pointer is
    assert again[0].record.seed == first[0].record.seed + 1 and again[0].record.text == "brighter"
    assert again[0].record.params["start"] == 0.0 and again[0].record.params["end"] == 2.0


def test_continue_sketches_only_the_new_stretch(studio: Studio) -> None:
    piece_end = studio.project.load_piece(studio.current).duration
    studio.continue_("60", None)
    assert studio.step.window == pytest.approx((piece_end, piece_end + 60))


def test_a_cancelled_request_stores_nothing_and_stays_put(studio: Studio) -> None:
    root = studio.project.root
    before = files_under(root)

    def interrupt(row: int, tokens: int, music: float) -> None:
        if tokens >= 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        studio.compose("a long piece", progress=interrupt)
    assert files_under(root) == before
    assert studio.current.ref == "drone@1" and studio.request is None
    assert [p.name for p in studio.project.pieces()] == ["drone"]
    studio.compose("a long piece")  # the warm engine still works
    assert studio.current.ref == "long-1@1"


def test_nothing_current_yet_says_what_to_do(tmp_path: Path, tiny_model_dir: Path) -> None:
    project = Project.init(tmp_path / "empty", model=str(tiny_model_dir))
    studio = Studio(project, Settings(max_tokens=30))
    with pytest.raises(StudioError, match="compose TEXT"):
        studio.continue_(None, None)
    with pytest.raises(StudioError, match="nothing to undo"):
        studio.undo()
    with pytest.raises(StudioError, match="nothing to ask again"):
        studio.again()


def test_bad_settings_and_unknown_adapters_are_refused(studio: Studio) -> None:
    with pytest.raises(MidicliError, match="-n must be at least 1"):
        Studio(studio.project, Settings(n=0))
    with pytest.raises(MidicliError, match="no adapter named 'ghost'"):
        studio.use_adapter("ghost")
    studio.use_adapter("none")
    assert "adapter none" in studio.model_description()
