"""A user turns a folder of MIDI files into a dataset: sequences in the MIDI-LLM music
layout, captions from their sidecar or measured, a split that never changes, and a
manifest that counts it all; a failed build leaves nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from midicli.music.midi_io import read_midi
from midicli.tokenizers import amt
from midicli.tokenizers.vocab import ANTICIPATE, AUTOREGRESS
from midicli.training import TrainingError
from midicli.training.dataset import (
    SPLITS,
    BuildSettings,
    assign_splits,
    build,
    read_manifest,
    read_split,
)
from midicli.training.sequences import chunks
from midicli.training.sources import Listing, Source, from_folder


def test_the_manifest_counts_what_the_split_files_hold(small_dataset: Path) -> None:
    manifest = read_manifest(small_dataset)
    for split in SPLITS:
        rows = list(read_split(small_dataset, split))
        counts = manifest["splits"][split]
        assert counts["sequences"] == len(rows)
        assert counts["music_tokens"] == sum(len(r["music"]) for r in rows)
        assert counts["pieces"] == len({r["piece"] for r in rows})
    assert (
        manifest["splits"]["validation"]["pieces"] == 1
        and manifest["splits"]["test"]["pieces"] == 0
    )
    assert manifest["settings"] == {
        "chunk_tokens": 150,
        "min_notes": 4,
        "copies": 2,
        "validation": 0.25,
        "test": 0.0,
        "seed": 0,
    }
    assert manifest["source"]["kind"] == "folder"


def test_every_sequence_is_valid_music_that_fits_its_chunk(small_dataset: Path) -> None:
    rows = list(read_split(small_dataset, "train"))
    assert {r["augmentation"] for r in rows} >= {"plain", "span", "instrument"}
    for row in rows:
        music = row["music"]
        amt.validate(music)
        assert music[0] == (AUTOREGRESS if row["augmentation"] == "plain" else ANTICIPATE)
        assert len(music) - 1 <= 150


def test_plain_sequences_hold_the_piece_chunk_by_chunk(
    small_dataset: Path, midi_folder: Path
) -> None:
    piece = read_midi(midi_folder / "joplin_maple_leaf.mid")
    rows = [
        r
        for r in read_split(small_dataset, "train")
        if r["piece"] == "joplin_maple_leaf.mid" and r["augmentation"] == "plain"
    ]
    expected = chunks(piece.notes, 150, 4)
    assert [r["start"] for r in rows] == [c.start for c in expected]
    for row, chunk in zip(rows, expected):
        notes = amt.events_to_notes(row["music"][1:])
        assert [n.pitch for n in notes] == [n.pitch for n in chunk.notes]


def test_measured_captions_describe_each_chunk(small_dataset: Path) -> None:
    rows = list(read_split(small_dataset, "train"))
    joplin = {r["caption"] for r in rows if r["piece"] == "joplin_maple_leaf.mid"}
    assert all("acoustic grand piano" in text and "bpm" in text for text in joplin)
    assert len(joplin) > 1  # each chunk measured on its own: lengths and textures differ
    pieces = {p["name"]: p for p in read_manifest(small_dataset)["pieces"]}
    assert pieces["joplin_maple_leaf.mid"]["captioned"] == "measured"


def test_the_split_depends_only_on_the_names_of_the_pieces() -> None:
    names = [f"piece-{i}.mid" for i in range(40)]
    split = assign_splits(names, 0.1, 0.1)
    assert split == assign_splits(list(reversed(names)), 0.1, 0.1)
    assert (
        sorted(split.values()).count("validation") == 4
        and sorted(split.values()).count("test") == 4
    )
    grown = assign_splits(names + ["new.mid"], 0.1, 0.1)
    assert (
        sum(grown[n] != split[n] for n in names) <= 2
    )  # a new piece moves at most the boundary pieces
    assert set(assign_splits(["a", "b"], 0.1, 0.1).values()) == {"train"}  # too few to hold any out
    assert sorted(assign_splits(["a", "b", "c"], 0.01, 0.01).values()) == [
        "test",
        "train",
        "validation",
    ]


def test_sidecar_captions_are_used_and_rebuilding_gives_the_same_sequences(
    midi_folder: Path, tmp_path: Path, small_settings: BuildSettings
) -> None:
    (midi_folder / "captions.csv").write_text(
        "file,caption\nstrawberry.mid,A cheerful pop arrangement\n", encoding="utf-8"
    )
    first = build(from_folder(midi_folder), tmp_path / "a", small_settings)
    again = build(from_folder(midi_folder), tmp_path / "b", small_settings)
    for split in SPLITS:
        assert (tmp_path / "a" / f"{split}.jsonl").read_bytes() == (
            tmp_path / "b" / f"{split}.jsonl"
        ).read_bytes()
    assert first["pieces"] == again["pieces"]
    strawberry = next(p for p in first["pieces"] if p["name"] == "strawberry.mid")
    assert (strawberry["caption"], strawberry["captioned"]) == (
        "A cheerful pop arrangement",
        "user",
    )


def test_unreadable_and_too_short_pieces_are_skipped_with_a_reason(
    midi_folder: Path, tmp_path: Path
) -> None:
    (midi_folder / "broken.mid").write_bytes(b"MThd garbage")
    manifest = build(
        from_folder(midi_folder),
        tmp_path / "data",
        BuildSettings(min_notes=50, validation=0, test=0),
    )
    reasons = {s["name"]: s["reason"] for s in manifest["skipped"]}
    assert (
        "not a readable MIDI file" in reasons["broken.mid"] or "truncated" in reasons["broken.mid"]
    )
    assert reasons["edge_long_notes.mid"] == "fewer than 50 notes"
    assert "broken.mid" not in {p["name"] for p in manifest["pieces"]}


def test_an_existing_dataset_is_replaced_only_with_force(
    midi_folder: Path, tmp_path: Path, small_settings: BuildSettings
) -> None:
    out = tmp_path / "data"
    build(from_folder(midi_folder, limit=2), out, small_settings)
    with pytest.raises(TrainingError, match="exists already"):
        build(from_folder(midi_folder), out, small_settings)
    manifest = build(from_folder(midi_folder), out, small_settings, force=True)
    assert json.loads((out / "manifest.json").read_text())["pieces"] == manifest["pieces"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "data",
        "midi",
    ]  # no half-built folders left


def test_a_build_that_yields_nothing_writes_nothing(tmp_path: Path) -> None:
    def unreadable() -> None:
        raise TrainingError("cannot read it")

    listing = Listing([Source("bad.mid", unreadable)], {"kind": "test"})
    with pytest.raises(
        TrainingError,
        match=r"no piece gave a training sequence \(1 skipped: bad.mid: cannot read it\)",
    ):
        build(listing, tmp_path / "data")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (BuildSettings(chunk_tokens=2), "--chunk-tokens"),
        (BuildSettings(copies=0), "--augment"),
        (BuildSettings(validation=0.6, test=0.5), "together below 1"),
    ],
)
def test_impossible_settings_are_refused(
    settings: BuildSettings, message: str, midi_folder: Path, tmp_path: Path
) -> None:
    with pytest.raises(TrainingError, match=message):
        build(from_folder(midi_folder), tmp_path / "data", settings)


def test_a_folder_that_is_not_a_dataset_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="midicli dataset build"):
        read_manifest(tmp_path)


def test_the_test_split_is_a_prompt_set_for_eval_with_each_chunk_as_reference(
    midi_folder: Path, tmp_path: Path
) -> None:
    from midicli.evaluation.prompts import load_prompts

    manifest = build(
        from_folder(midi_folder),
        tmp_path / "data",
        BuildSettings(chunk_tokens=600, validation=0, test=0.4),
    )
    rows = list(read_split(tmp_path / "data", "test"))
    assert rows and {r["augmentation"] for r in rows} == {
        "plain"
    }  # held-out music, not the training task
    assert (
        manifest["splits"]["test"]["sequences"] == len(rows) == manifest["splits"]["test"]["chunks"]
    )
    prompts = load_prompts(tmp_path / "data")
    assert [p.caption for p in prompts] == [r["caption"] for r in rows]
    for prompt, row in zip(prompts, rows):
        notes = read_midi(prompt.reference).notes
        assert [n.pitch for n in notes] == [n.pitch for n in amt.events_to_notes(row["music"][1:])]
