"""A user points at a folder of MIDI files with a caption sidecar in whatever shape
they have it (CSV, JSON lines, MidiCaps' own), and every file finds its caption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from midicli.training import TrainingError
from midicli.training.sources import from_folder, read_captions


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_captions_from_csv_with_file_and_caption_columns(tmp_path: Path) -> None:
    path = tmp_path / "captions.csv"
    path.write_text(
        'file,caption\nsongs/a.mid,"A calm waltz, for piano"\nb.mid,Loud rock\n', encoding="utf-8"
    )
    assert read_captions(path) == {"songs/a.mid": "A calm waltz, for piano", "b.mid": "Loud rock"}


def test_captions_in_midicaps_json_lines_name_files_by_location(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "midicaps.jsonl",
        [{"location": "lmd_full/1/abc.mid", "caption": "A pop song.", "key": "C"}],
    )
    assert read_captions(path) == {"lmd_full/1/abc.mid": "A pop song."}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"file": "a.mid", "caption": "x"}\nnot json\n', "line 2 is not JSON"),
        (
            '{"file": "a.mid"}\n',
            r"entry 1 needs a file \(file, path, location, name\) and a caption",
        ),
        ('["a.mid", "x"]\n', "line 1 is not a JSON object"),
    ],
)
def test_a_broken_sidecar_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "captions.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TrainingError, match=message):
        read_captions(path)


def test_files_match_their_caption_by_path_name_or_stem_and_the_rest_are_measured(
    midi_folder: Path,
) -> None:
    (midi_folder / "more").mkdir()
    (midi_folder / "strawberry.mid").rename(midi_folder / "more" / "strawberry.mid")
    write_jsonl(
        midi_folder / "captions.jsonl",
        [
            {"file": "more/strawberry.mid", "caption": "A pop arrangement"},
            {"location": "elsewhere/bach_bwv66_6.mid", "caption": "A chorale"},
            {"name": "joplin_maple_leaf", "caption": "A rag"},
            {"file": "missing.mid", "caption": "Nobody"},
        ],
    )
    listing = from_folder(midi_folder)
    captions = {s.name: s.caption for s in listing.sources}
    assert captions == {
        "bach_bwv66_6.mid": "A chorale",
        "edge_drums_tempo_change.mid": None,
        "edge_long_notes.mid": None,
        "joplin_maple_leaf.mid": "A rag",
        "more/strawberry.mid": "A pop arrangement",
    }
    assert listing.unmatched_captions == ["missing.mid"]
    assert listing.origin["captions"] == str(midi_folder / "captions.jsonl")


def test_a_file_name_two_entries_share_matches_neither(midi_folder: Path) -> None:
    write_jsonl(
        midi_folder / "other.jsonl",
        [
            {"file": "x/strawberry.mid", "caption": "one"},
            {"file": "y/strawberry.mid", "caption": "two"},
        ],
    )
    listing = from_folder(midi_folder, captions=midi_folder / "other.jsonl")
    assert {s.name: s.caption for s in listing.sources}["strawberry.mid"] is None
    assert len(listing.unmatched_captions) == 2


def test_a_folder_without_midi_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no MIDI files"):
        from_folder(tmp_path)
    with pytest.raises(TrainingError, match="no folder"):
        from_folder(tmp_path / "nowhere")
