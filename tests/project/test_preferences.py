"""pick, prefer and rate: a user's judgements become preference records holding the
exact ids the model saw and wrote."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from midicli.errors import TuningError
from midicli.project import Project, VersionRecord, preferences

Candidates = Callable[..., list[VersionRecord]]  # the `candidates` fixture


def test_pick_prefers_the_best_candidate_over_each_sibling(
    project: Project, candidates: Candidates
) -> None:
    best, *others = candidates(3)
    candidates(2, base="other")  # another request: not siblings
    recorded = preferences.pick(project, best.ref)
    assert [(p.chosen, p.rejected, p.source) for p in recorded] == [
        (best.ref, o.ref, "pick") for o in others
    ]
    first = recorded[0]
    assert first.prompt_ids == [1, 2, 3]
    assert (
        first.chosen_ids == best.manifest["generated_ids"]
        and first.rejected_ids == others[0].manifest["generated_ids"]
    )
    assert first.model_hash == "abc" and first.model == "tiny"


def test_picking_twice_records_nothing_new_and_a_new_pick_overrules(
    project: Project, candidates: Candidates
) -> None:
    a, b = candidates(2)
    preferences.pick(project, a.ref)
    preferences.pick(project, a.ref)
    assert len(project.preferences()) == 1
    preferences.pick(project, b.ref)  # changed one's mind
    assert [(p.chosen, p.rejected) for p in project.preferences()] == [(b.ref, a.ref)]


def test_prefer_needs_the_same_prompt_and_context(project: Project, candidates: Candidates) -> None:
    a, b = candidates(2)
    [elsewhere] = candidates(1, prompt=(1, 2, 4), base="elsewhere")
    record = preferences.prefer(project, b.ref, a.ref)
    assert (record.chosen, record.rejected, record.source) == (b.ref, a.ref, "prefer")
    with pytest.raises(TuningError, match="not written from the same prompt"):
        preferences.prefer(project, a.ref, elsewhere.ref)
    with pytest.raises(TuningError, match="over itself"):
        preferences.prefer(project, a.ref, a.ref)


def test_imported_versions_cannot_be_judged(
    project: Project, candidates: Candidates, tmp_path
) -> None:
    from midicli.music.midi_io import write_midi
    from midicli.music.piece import Note, Piece

    [made] = candidates(1)
    write_midi(Piece([Note(0.0, 1.0, 60)]), tmp_path / "hum.mid")
    imported = project.import_midi(tmp_path / "hum.mid")
    for judge in (
        lambda: preferences.prefer(project, imported.ref, made.ref),
        lambda: preferences.pick(project, imported.ref),
        lambda: preferences.rate(project, imported.ref, 3),
    ):
        with pytest.raises(
            TuningError, match=f"{imported.ref} was not written by a model \\(import\\)"
        ):
            judge()


def test_a_candidate_without_siblings_cannot_be_picked(
    project: Project, candidates: Candidates
) -> None:
    [alone] = candidates(1)
    with pytest.raises(TuningError, match="no sibling candidates"):
        preferences.pick(project, alone.ref)


def test_ratings_of_the_same_prompt_become_preferences(
    project: Project, candidates: Candidates
) -> None:
    a, b, c = candidates(3)
    [elsewhere] = candidates(1, prompt=(9,), base="elsewhere")
    assert preferences.rate(project, a.ref, 4) == []
    preferences.rate(project, elsewhere.ref, 1)  # another prompt: no comparison
    [implied] = preferences.rate(project, b.ref, 2)
    assert (implied.chosen, implied.rejected, implied.source) == (a.ref, b.ref, "rating")
    preferences.rate(project, c.ref, 4)  # ties imply nothing, but c is above b
    assert {(p.chosen, p.rejected) for p in project.preferences()} == {
        (a.ref, b.ref),
        (c.ref, b.ref),
    }
    preferences.rate(project, b.ref, 5)  # rated again: now above both
    assert {(p.chosen, p.rejected) for p in project.preferences()} == {
        (b.ref, a.ref),
        (b.ref, c.ref),
    }
    with pytest.raises(TuningError, match="1 to 5 stars"):
        preferences.rate(project, a.ref, 6)
