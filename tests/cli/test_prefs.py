"""pick, prefer, rate and prefs from the command line: a user composes candidates with
the tiny model, says which they like, and sees (or removes) what was recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import AMT_FIXTURES


@pytest.fixture
def takes(cli, tiny_model_dir: Path):
    """Three candidates of one request and one of another, composed by the tiny model."""
    model = ["--model", str(tiny_model_dir), "--max-tokens", "30", "--seed", "1"]
    long = [
        "--seconds",
        "99",
    ]  # a span the 30 first tokens cannot fill: each first round is 30 tokens
    refs = cli.json("compose", "A calm piano waltz", "-n", "3", *model, *long)["created"]
    other = cli.json("compose", "Upbeat jazz trio", "-n", "1", *model, *long)["created"]
    return cli, refs, other[0]


def test_pick_records_the_best_over_its_siblings_and_prefs_lists_them(takes) -> None:
    cli, (best, second, third), _ = takes
    recorded = cli.json("pick", best)["recorded"]
    assert [(p["chosen"], p["rejected"], p["source"]) for p in recorded] == [
        (best, second, "pick"),
        (best, third, "pick"),
    ]
    assert all(p["prompt_tokens"] > 0 and p["chosen_tokens"] == 30 for p in recorded)
    listed = cli.json("prefs")
    assert [p["id"] for p in listed] == [p["id"] for p in recorded]
    assert best in cli("prefs").stdout
    assert "Recorded #" in cli("prefer", third, second).stdout


def test_prefs_rm_removes_one(takes) -> None:
    cli, (best, second, _), _ = takes
    [kept, gone] = cli.json("pick", best)["recorded"]
    cli("prefs", "rm", str(gone["id"]))
    assert [p["id"] for p in cli.json("prefs")] == [kept["id"]]
    assert "no preference 999" in cli.fails("prefs", "rm", "999")


def test_rate_turns_stars_into_preferences(takes) -> None:
    cli, (a, b, _), _ = takes
    assert cli.json("rate", a, "2")["recorded"] == []
    [implied] = cli.json("rate", b, "5")["recorded"]
    assert (implied["chosen"], implied["rejected"], implied["source"]) == (b, a, "rating")
    assert "1 to 5 stars" in cli.fails("rate", a, "0")


def test_a_first_rating_says_it_was_recorded_and_waits_for_the_next(takes) -> None:
    cli, (a, b, _), _ = takes
    first = cli("rate", a, "4")
    assert (
        f"Rated {a} 4 of 5" in first.stdout
        and "another version from the same prompt" in first.stdout
    )
    assert "Nothing new" not in first.output
    assert f"Recorded #1: {b} over {a}" in cli("rate", b, "5").stdout


def test_judging_across_prompts_or_imported_music_is_a_one_line_error(takes) -> None:
    cli, (best, _, _), other = takes
    assert "not written from the same prompt" in cli.fails("prefer", best, other)
    cli("import", str(AMT_FIXTURES / "bach_bwv66_6.mid"), "--name", "chorale")
    assert "chorale@1 was not written by a model (import)" in cli.fails("prefer", "chorale", best)
    assert "no sibling candidates" in cli.fails("pick", other)
    assert cli.json("prefs") == []
