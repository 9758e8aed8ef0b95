"""Piece names and references, as a user types them."""

from __future__ import annotations

import pytest

from midicli.errors import ProjectError
from midicli.project.refs import MAX_NAME, Ref, check_name, clean_name, parse_ref, slugify


@pytest.mark.parametrize("name", ["calm-waltz-1", "a", "v1.2_take", "9lives", "x" * MAX_NAME])
def test_names_a_user_may_choose(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "a/b",
        "a\\b",
        "",
        "..",
        ".hidden",
        "a..b",
        "Calm",
        "calm waltz",
        "x@1",
        "x" * (MAX_NAME + 1),
    ],
)
def test_names_that_could_escape_the_pieces_folder_or_confuse_refs_are_refused(name: str) -> None:
    with pytest.raises(ProjectError, match="lowercase letters, digits"):
        check_name(name)


def test_a_bare_name_means_the_latest_version_and_at_n_a_given_one() -> None:
    assert parse_ref("calm-waltz-1") == Ref("calm-waltz-1")
    assert parse_ref("calm-waltz-1@3") == Ref("calm-waltz-1", 3)
    assert str(parse_ref("calm-waltz-1@3")) == "calm-waltz-1@3"


@pytest.mark.parametrize("ref", ["calm@", "calm@0", "calm@two", "calm@-1", "calm@1@2"])
def test_bad_version_numbers_say_how_to_write_a_reference(ref: str) -> None:
    with pytest.raises(ProjectError, match="NAME@N"):
        parse_ref(ref)


def test_a_bad_name_in_a_reference_is_refused_like_any_name() -> None:
    with pytest.raises(ProjectError, match="cannot name a piece"):
        parse_ref("../etc@1")


@pytest.mark.parametrize(
    ("description", "base"),
    [
        ("A calm waltz for piano, in 3/4", "calm-waltz-piano"),
        ("Compose a jazzy 1980s synthpop track with drums", "jazzy-1980s-synthpop"),
        ("Étude in É minor", "etude-minor"),
        ("a piece of music", "piece"),
        ("", "piece"),
    ],
)
def test_new_pieces_are_named_from_the_telling_words_of_the_description(
    description: str, base: str
) -> None:
    assert slugify(description) == base
    check_name(base)


def test_names_made_from_text_stay_short_enough_for_a_suffix() -> None:
    base = clean_name("an extraordinarily long file name " * 10)
    assert len(base) <= 48 and not base.endswith("-")
    check_name(f"{base}-999")
    assert clean_name("Für Elise (final)") == "fur-elise-final"
