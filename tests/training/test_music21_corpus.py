"""Someone without MIDI files of their own trains on the corpus music21 installs: works
listed in a fixed mixed order, rendered to MIDI on instruments that suit them, and
captioned with their collection's genre words."""

from __future__ import annotations

from pathlib import Path

import pytest

from midicli.training import TrainingError
from midicli.training.dataset import BuildSettings, build, read_split
from midicli.training.music21_corpus import COLLECTIONS, render, works
from midicli.training.sources import from_music21


def test_a_limit_takes_works_in_turn_from_each_collection() -> None:
    names = [w.name for w in works(["bach", "oneills1850"], limit=4)]
    assert names == [
        "bach/bwv1.6",
        "oneills1850/0001-0050#1",
        "bach/bwv10.7",
        "oneills1850/0001-0050#2",
    ]
    assert works(["bach"], limit=3) == works(["bach"], limit=3)


def test_each_tune_of_a_many_tune_abc_file_is_a_work_and_each_work_comes_once() -> None:
    oneill = works(["oneills1850"])
    assert len(oneill) > 1900 and len({w.name for w in oneill}) == len(oneill)
    quartet = [w.name for w in works(["beethoven"]) if w.name.startswith("beethoven/opus18no1/")]
    assert quartet == [
        f"beethoven/opus18no1/movement{i}" for i in (1, 2, 3, 4)
    ]  # .mxl chosen over the .krn copy


def test_unknown_collections_are_named_with_the_known_ones() -> None:
    with pytest.raises(
        TrainingError, match="no music21 collection bachh: use one of bach, palestrina"
    ):
        works(["bachh"])


def test_a_chorale_is_rendered_on_one_of_its_ensembles_with_named_parts_kept() -> None:
    work = works(["bach"], limit=1)[0]  # BWV 1.6: a horn part over soprano, alto, tenor and bass
    piece = render(work)
    assert len(piece.notes) > 300 and piece.duration > 30
    voices = set(piece.instruments) - {60}  # the part named "Horn 2" plays a French horn
    assert 60 in piece.instruments
    assert voices <= {p for ensemble in COLLECTIONS["bach"].ensembles for p in ensemble}
    assert render(work).notes == piece.notes  # the same work always sounds the same


def test_a_folk_tune_with_a_meter_music21_cannot_write_is_still_rendered() -> None:
    piece = render(
        works(["oneills1850"], limit=1)[0]
    )  # music21's writer trips over its shared 2/4 sign
    assert piece.notes and set(piece.instruments) <= set(
        p for e in COLLECTIONS["oneills1850"].ensembles for p in e
    )


def test_corpus_captions_add_the_collection_genre_words(tmp_path: Path) -> None:
    listing = from_music21(["bach", "ryansMammoth"], limit=2)
    assert listing.origin == {
        "kind": "music21",
        "collections": ["bach", "ryansMammoth"],
        "limit": 2,
        "rights": {
            "bach": COLLECTIONS["bach"].rights,
            "ryansMammoth": COLLECTIONS["ryansMammoth"].rights,
        },
    }
    build(
        listing, tmp_path / "data", BuildSettings(chunk_tokens=300, copies=1, validation=0, test=0)
    )
    captions = {row["piece"]: row["caption"] for row in read_split(tmp_path / "data", "train")}
    assert captions["bach/bwv1.6"].startswith("A baroque chorale piece featuring")
    assert captions["ryansMammoth/42dHighlandRegimentStrathspey"].startswith(
        "A folk dance piece featuring"
    )
