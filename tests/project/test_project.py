"""A user's project: making and finding it, recording versions, looking them up, removing them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from midicli.errors import BadMidiError, ProjectError
from midicli.music.midi_io import write_midi
from midicli.music.piece import Note, Piece
from midicli.project import NewVersion, Project
from midicli.project.store import Store

# -- making and finding a project ---------------------------------------------------


def test_init_makes_settings_database_and_pieces_folder(tmp_path: Path) -> None:
    with Project.init(tmp_path / "album", model="midi-llm", engine="vllm") as project:
        assert (project.config.model, project.config.engine) == ("midi-llm", "vllm")
        assert project.pieces() == [] and not project.is_default
    assert {p.name for p in (tmp_path / "album").iterdir()} == {
        "midicli.toml",
        "midicli.db",
        "pieces",
    }


def test_a_model_folder_named_from_here_is_found_from_inside_the_project(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "models" / "mine").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    with Project.init(tmp_path / "songs", model="models/mine") as project:
        assert project.config.model == str(tmp_path / "models" / "mine")
    with Project.init(
        tmp_path / "other", model="midi-llm"
    ) as project:  # presets and hub ids stay as given
        assert project.config.model == "midi-llm"


def test_init_refuses_to_overwrite_a_project(project: Project) -> None:
    with pytest.raises(ProjectError, match="already holds a midicli project"):
        Project.init(project.root)


def test_open_needs_a_project_there(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="no midicli project in .* run `midicli init`"):
        Project.open(tmp_path)


def test_find_walks_up_from_a_subfolder_like_git(project: Project) -> None:
    deep = project.root / "sketches" / "monday"
    deep.mkdir(parents=True)
    with Project.find(deep) as found:
        assert found.root == project.root and not found.is_default


def test_outside_any_project_the_default_one_under_midicli_home_is_used(
    tmp_path: Path, midicli_home: Path
) -> None:
    with Project.find(tmp_path) as found:
        assert found.is_default and found.root == (midicli_home / "default").resolve()
        found.import_midi(write_tune(tmp_path / "hum.mid"))
    with Project.find(tmp_path) as again:  # the same project, not a new one
        assert [p.name for p in again.pieces()] == ["hum"]


def write_tune(path: Path) -> Path:
    write_midi(
        Piece([Note(0.0, 0.5, 60), Note(0.5, 0.5, 64), Note(1.0, 1.0, 67, velocity=90)]), path
    )
    return path


# -- composing, continuing, looking up ------------------------------------------------


def test_composed_candidates_become_new_pieces_with_everything_recorded(
    project: Project, compose: Callable
) -> None:
    first, second = compose("a calm waltz", n=2)
    assert [first.ref, second.ref] == ["calm-waltz-1@1", "calm-waltz-2@1"]
    assert first.params == {"temperature": 1.0, "top_p": 0.98, "max_new_tokens": 2046}
    assert (first.seed, first.model, first.model_hash, first.engine) == (
        7,
        "tiny",
        "abc123",
        "transformers",
    )
    assert (
        first.text == "a calm waltz"
        and first.timings == {"generate_s": 0.5}
        and first.parent is None
    )
    assert (project.root / "pieces/calm-waltz-1/v1.mid").is_file()
    assert project.load_tokens(first) == [0, 10_050, 11_060]
    assert [n.pitch for n in project.load_piece(second).notes] == [61, 65, 68]
    assert project.siblings(first) == [second]

    listed = project.pieces()
    assert [(p.name, p.versions, p.latest, p.operation, p.notes) for p in listed] == [
        ("calm-waltz-1", 1, 1, "compose", 3),
        ("calm-waltz-2", 1, 1, "compose", 3),
    ]
    assert listed[0].duration == pytest.approx(1.5) and listed[0].instruments == [0]


def test_a_second_compose_takes_the_next_free_names(project: Project, compose: Callable) -> None:
    compose(n=2)
    project.remove("calm-waltz-1")
    assert [r.piece for r in compose(n=2)] == ["calm-waltz-1", "calm-waltz-3"]


def test_continuing_makes_sibling_versions_of_the_same_piece(
    project: Project, compose: Callable, make_piece: Callable
) -> None:
    [parent, _] = compose(n=2)
    made = project.add_versions(
        [
            NewVersion(
                name=parent.piece,
                piece=make_piece([60, 62, 64, 65]),
                operation="continue",
                parent=parent,
            )
            for _ in range(2)
        ]
    )
    assert [r.ref for r in made] == ["calm-waltz-1@2", "calm-waltz-1@3"]
    assert all(r.parent == "calm-waltz-1@1" and r.parent_id == parent.id for r in made)
    assert project.siblings(made[0]) == [made[1]]
    assert project.load_tokens(made[0]) is None
    assert project.resolve("calm-waltz-1") == made[1]
    assert project.resolve("calm-waltz-1@1") == parent
    assert [r.number for r in project.history("calm-waltz-1")] == [1, 2, 3]
    [summary, _] = project.pieces()
    assert (summary.versions, summary.latest, summary.operation, summary.notes) == (
        3,
        3,
        "continue",
        4,
    )


def test_missing_pieces_and_versions_are_one_line_errors(
    project: Project, compose: Callable
) -> None:
    compose(n=1)
    with pytest.raises(ProjectError, match=r"^no piece named 'nocturne'$"):
        project.resolve("nocturne")
    with pytest.raises(ProjectError, match=r"^calm-waltz-1 has no version 7 \(latest is 1\)$"):
        project.resolve("calm-waltz-1@7")
    with pytest.raises(ProjectError, match="no piece named 'nocturne'"):
        project.history("nocturne")


def test_a_new_piece_cannot_take_a_name_in_use(
    project: Project, compose: Callable, make_piece: Callable
) -> None:
    compose(n=1)
    with pytest.raises(ProjectError, match="a piece named 'calm-waltz-1' already exists"):
        project.add_versions(
            [NewVersion(name="calm-waltz-1", piece=make_piece([60]), operation="compose")]
        )
    with pytest.raises(ProjectError, match="cannot name a piece"):
        project.add_versions(
            [NewVersion(name="../escape", piece=make_piece([60]), operation="compose")]
        )


# -- importing --------------------------------------------------------------------------


def test_import_names_the_piece_after_the_file(project: Project, tmp_path: Path) -> None:
    source = write_tune(tmp_path / "My Tune.mid")
    first = project.import_midi(source)
    second = project.import_midi(source)
    assert [first.ref, second.ref] == ["my-tune@1", "my-tune-1@1"]
    assert first.operation == "import" and first.manifest == {"source": str(source.resolve())}
    assert [(n.onset, n.pitch) for n in project.load_piece(first).notes] == [
        (0.0, 60),
        (0.5, 64),
        (1.0, 67),
    ]


def test_import_with_a_chosen_name_that_is_taken_is_refused(
    project: Project, tmp_path: Path
) -> None:
    source = write_tune(tmp_path / "tune.mid")
    project.import_midi(source, name="theme")
    with pytest.raises(ProjectError, match="'theme' already exists"):
        project.import_midi(source, name="theme")
    with pytest.raises(ProjectError, match="cannot name a piece"):
        project.import_midi(source, name="a/b")


def test_import_of_a_broken_file_records_nothing(
    project: Project, tmp_path: Path, snapshot: Callable
) -> None:
    before = snapshot(project.root)
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd not really")
    with pytest.raises(BadMidiError):
        project.import_midi(broken)
    assert project.pieces() == [] and snapshot(project.root) == before


# -- removing ---------------------------------------------------------------------------


def test_removing_a_version_keeps_the_rest_and_never_reuses_its_number(
    project: Project, compose: Callable, make_piece: Callable
) -> None:
    [parent] = compose(n=1)
    [child] = project.add_versions(
        [NewVersion(name=parent.piece, piece=make_piece([70]), operation="infill", parent=parent)]
    )
    (project.root / "pieces/calm-waltz-1/v2.wav").write_bytes(b"RIFF")  # a render of it

    assert project.remove("calm-waltz-1@2") == [child]
    assert sorted(p.name for p in (project.root / "pieces/calm-waltz-1").iterdir()) == [
        "v1.mid",
        "v1.tokens.json",
    ]
    assert project.resolve("calm-waltz-1") == parent

    [again] = project.add_versions(
        [NewVersion(name=parent.piece, piece=make_piece([71]), operation="edit", parent=parent)]
    )
    assert again.ref == "calm-waltz-1@3"


def test_removing_a_piece_removes_all_its_versions_and_files(
    project: Project, compose: Callable, make_piece: Callable
) -> None:
    [parent, other] = compose(n=2)
    project.add_versions(
        [NewVersion(name=parent.piece, piece=make_piece([72]), operation="edit", parent=parent)]
    )
    assert [r.ref for r in project.remove("calm-waltz-1")] == ["calm-waltz-1@1", "calm-waltz-1@2"]
    assert [p.name for p in project.pieces()] == ["calm-waltz-2"]
    assert not (project.root / "pieces/calm-waltz-1").exists()
    with pytest.raises(ProjectError, match="no piece named"):
        project.remove("calm-waltz-1")
    assert project.siblings(other) == []  # its sibling went with the piece


def test_removing_the_only_version_removes_the_piece(project: Project, compose: Callable) -> None:
    compose(n=1)
    project.remove("calm-waltz-1@1")
    assert project.pieces() == [] and not (project.root / "pieces/calm-waltz-1").exists()


# -- all or nothing ---------------------------------------------------------------------


@pytest.fixture
def before(project: Project, compose: Callable, snapshot: Callable) -> tuple[list, list[str]]:
    """A project with one composed piece: its listing and its files."""
    compose(n=1)
    return project.pieces(), snapshot(project.root)


def candidates(
    project: Project, make_piece: Callable, middle: Piece | None = None
) -> list[NewVersion]:
    """A continuation of calm-waltz-1 and two new pieces, the second of them ``middle``."""
    parent = project.resolve("calm-waltz-1")
    piece = make_piece([60, 62])
    return [
        NewVersion(
            name="calm-waltz-1", piece=piece, operation="continue", parent=parent, tokens=[1, 2, 3]
        ),
        NewVersion(name="fresh-1", piece=middle or piece, operation="compose", tokens=[4, 5, 6]),
        NewVersion(name="fresh-2", piece=piece, operation="compose", tokens=[7, 8, 9]),
    ]


def test_a_piece_that_cannot_be_written_leaves_the_project_as_it_was(
    project: Project, before: tuple, snapshot: Callable, make_piece: Callable
) -> None:
    unwritable = Piece([Note(0.0, 1.0, pitch=300)])  # no such MIDI pitch
    with pytest.raises(ValueError):
        project.add_versions(candidates(project, make_piece, middle=unwritable))
    assert (project.pieces(), snapshot(project.root)) == before


def test_parameters_that_cannot_be_stored_fail_before_any_file_is_written(
    project: Project, before: tuple, snapshot: Callable, make_piece: Callable
) -> None:
    new = candidates(project, make_piece)
    new[2].params = {"temperature": object()}
    with pytest.raises(TypeError):
        project.add_versions(new)
    assert (project.pieces(), snapshot(project.root)) == before


@pytest.mark.parametrize("step", ["insert_version", "commit"])
def test_a_database_failure_removes_the_files_already_written(
    project: Project,
    before: tuple,
    snapshot: Callable,
    make_piece: Callable,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
) -> None:
    real = getattr(Store, step)
    calls = []

    def failing(self: Store, *args: object) -> object:
        calls.append(args)
        if len(calls) == 2 or step == "commit":
            raise sqlite3.OperationalError("disk I/O error")
        return real(self, *args)

    monkeypatch.setattr(Store, step, failing)
    with pytest.raises(sqlite3.OperationalError):
        project.add_versions(candidates(project, make_piece))
    assert (project.pieces(), snapshot(project.root)) == before
    monkeypatch.undo()
    assert [r.ref for r in project.add_versions(candidates(project, make_piece))] == [
        "calm-waltz-1@2",
        "fresh-1@1",
        "fresh-2@1",
    ]


INTERRUPTED = """
import sys, time
from pathlib import Path
from midicli.music.piece import Note, Piece
from midicli.project import NewVersion, Project
from midicli.project.store import Store

def stall(self):
    print("files written", flush=True)
    time.sleep(60)

Store.commit = stall
with Project.open(Path(sys.argv[1])) as project:
    parent = project.resolve("calm-waltz-1")
    piece = Piece([Note(0.0, 0.5, 72)])
    project.add_versions([
        NewVersion(
            name="calm-waltz-1", piece=piece, operation="continue", parent=parent, tokens=[1, 2]
        ),
        NewVersion(name="fresh-1", piece=piece, operation="compose", tokens=[3, 4]),
    ])
"""


def test_a_process_killed_before_its_commit_leaves_no_trace(
    project: Project, before: tuple, snapshot: Callable, make_piece: Callable, tmp_path: Path
) -> None:
    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED)
    repo = str(Path(__file__).resolve().parents[2])
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
    }
    process = subprocess.Popen(
        [sys.executable, str(script), str(project.root)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "files written\n"
        assert (project.root / "pieces/fresh-1/v1.mid").is_file()
        assert (project.root / "pieces/calm-waltz-1/v2.tokens.json").is_file()
        assert project.pieces() == before[0]  # files without rows are never listed
    finally:
        process.kill()  # SIGKILL: no cleanup handler runs
        process.wait()
        if process.stdout:
            process.stdout.close()

    with Project.open(project.root) as reopened:
        assert reopened.pieces() == before[0]
        # SQLite may keep the dead writer's journal: never committed, so it is ignored
        # and replaced by the next write transaction.
        assert [f for f in snapshot(reopened.root) if f != "midicli.db-journal"] == before[1]
        [made] = reopened.add_versions(
            [NewVersion(name="fresh-1", piece=make_piece([65]), operation="compose")]
        )
        assert made.ref == "fresh-1@1" and (reopened.root / made.midi_path).is_file()
        assert [p.name for p in reopened.pieces()] == ["calm-waltz-1", "fresh-1"]


def _blocked(process: Any) -> bool:
    """True once a process has stopped using the CPU (waiting on the database lock)."""
    before = sum(process.cpu_times()[:2])
    time.sleep(0.5)
    return sum(process.cpu_times()[:2]) - before < 0.02


def test_two_processes_composing_the_same_words_both_keep_their_pieces(
    project: Project, tiny_model_dir: Path
) -> None:
    """Names are chosen under the write lock: while a third party holds it, both processes
    finish generating and wait; neither may then find its chosen names taken."""
    psutil = pytest.importorskip("psutil")
    project.config.model = str(tiny_model_dir)
    project.save_config()
    repo = str(Path(__file__).resolve().parents[2])
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
    }
    lock = sqlite3.connect(project.root / "midicli.db", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    command = [
        sys.executable,
        "-m",
        "midicli",
        "-C",
        str(project.root),
        "compose",
        "the same words",
        "-n",
        "2",
        "--max-tokens",
        "30",
        "--json",
    ]
    processes = [
        subprocess.Popen(
            [*command, "--seed", str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed in (1, 2)
    ]
    try:
        deadline = time.monotonic() + 120
        while (
            not all(_blocked(psutil.Process(p.pid)) for p in processes)
            and time.monotonic() < deadline
        ):
            pass
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    results = [p.communicate(timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), [err for _, err in results]
    created = sorted(ref for out, _ in results for ref in json.loads(out)["created"])
    assert created == [f"same-words-{i}@1" for i in range(1, 5)]
