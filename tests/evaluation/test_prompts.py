"""Reading the prompt sets `midicli eval` runs on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import AMT_FIXTURES

from midicli.evaluation.prompts import Prompt, PromptSetError, load_prompts


def test_a_text_file_holds_one_caption_a_line(tmp_path: Path) -> None:
    file = tmp_path / "prompts.txt"
    file.write_text("# my prompts\nA calm piano waltz\n\n  Upbeat jazz with drums  \n")
    assert load_prompts(file) == [Prompt("A calm piano waltz"), Prompt("Upbeat jazz with drums")]
    assert load_prompts(file, limit=1) == [Prompt("A calm piano waltz")]


def test_a_test_split_pairs_captions_with_reference_midi(tmp_path: Path) -> None:
    (tmp_path / "midi").mkdir()
    (tmp_path / "midi" / "chorale.mid").write_bytes(
        (AMT_FIXTURES / "bach_bwv66_6.mid").read_bytes()
    )
    rows = [
        {"caption": "A chorale", "midi": "midi/chorale.mid", "split": "test"},
        {"caption": "A rag", "midi": str(AMT_FIXTURES / "joplin_maple_leaf.mid")},
        {"caption": "No reference"},
    ]
    (tmp_path / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    expected = [
        Prompt("A chorale", tmp_path / "midi" / "chorale.mid"),
        Prompt("A rag", AMT_FIXTURES / "joplin_maple_leaf.mid"),
        Prompt("No reference"),
    ]
    assert load_prompts(tmp_path / "test.jsonl") == expected
    assert load_prompts(tmp_path) == expected  # a dataset folder stands for its test split


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("p.jsonl", '{"caption": "ok"}\n{"caption": \n', "line 2 is not JSON"),
        ("p.jsonl", '{"text": "no caption"}\n', 'needs a "caption"'),
        ("p.jsonl", '{"caption": "x", "midi": "missing.mid"}\n', "no such MIDI file"),
        ("p.jsonl", '{"caption": "x", "midi": 3}\n', "must be a path"),
        ("p.txt", "\n# only a comment\n", "holds no prompts"),
    ],
    ids=["bad json", "no caption", "missing midi", "midi not a path", "empty"],
)
def test_malformed_prompt_sets_say_where(tmp_path: Path, name: str, text: str, words: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(PromptSetError, match=words):
        load_prompts(tmp_path / name)


def test_missing_sets_and_bad_limits_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PromptSetError, match="no such prompts file"):
        load_prompts(tmp_path / "nope.txt")
    with pytest.raises(PromptSetError, match="without a test.jsonl"):
        load_prompts(tmp_path)
    (tmp_path / "p.txt").write_text("a waltz\n")
    with pytest.raises(PromptSetError, match="at least 1"):
        load_prompts(tmp_path / "p.txt", limit=0)
