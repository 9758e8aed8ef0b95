"""Our codec speaks exactly the token language MIDI-LLM was trained on.

Each reference file was tokenized (and the tokens decoded to MIDI) by the AMT
reference implementation; see tests/data/amt/README.md.
"""

from __future__ import annotations

import json

import pytest
from support import AMT_FIXTURES

from midicli.music.midi_io import read_midi
from midicli.music.piece import Note
from midicli.tokenizers.amt import events_to_notes, notes_to_events
from midicli.tokenizers.vocab import MAX_TIME, TIME_RESOLUTION

FIXTURES = AMT_FIXTURES
NAMES = sorted(p.name.removesuffix(".tokens.json") for p in FIXTURES.glob("*.tokens.json"))


def reference_events(name: str) -> list[int]:
    """The reference tokens that start before 100 s (later ones are not valid tokens)."""
    tokens: list[int] = json.loads((FIXTURES / f"{name}.tokens.json").read_text())
    first_late = next((i for i in range(0, len(tokens), 3) if tokens[i] >= MAX_TIME), len(tokens))
    return tokens[:first_late]


def before_100_s(notes: list[Note]) -> list[Note]:
    return [n for n in notes if round(TIME_RESOLUTION * n.onset) < MAX_TIME]


def comparable(notes: list[Note]) -> list[tuple[int, int, int, int, bool]]:
    """Notes as a sorted multiset in 10 ms steps, so 'within 10 ms' is exact equality."""
    return sorted(
        (round(100 * n.onset), round(100 * n.duration), n.pitch, n.instrument, n.is_drum)
        for n in notes
    )


def test_the_reference_files_are_present() -> None:
    assert len(NAMES) >= 5, f"reference tokens missing from {FIXTURES}"


@pytest.mark.parametrize("name", NAMES)
def test_reading_and_tokenizing_reproduces_the_reference_tokens(name: str) -> None:
    piece = read_midi(FIXTURES / f"{name}.mid")
    assert notes_to_events(before_100_s(piece.notes)) == reference_events(name)


@pytest.mark.parametrize("name", NAMES)
def test_decoding_the_reference_tokens_gives_the_reference_decoder_s_notes(name: str) -> None:
    ours = events_to_notes(reference_events(name))
    theirs = before_100_s(read_midi(FIXTURES / f"{name}.decoded.mid").notes)
    assert comparable(ours) == comparable(theirs)
    assert {n.velocity for n in ours} == {72}


@pytest.mark.parametrize("name", NAMES)
def test_decoding_the_tokens_gives_back_the_notes_we_read(name: str) -> None:
    events = reference_events(name)
    assert notes_to_events(events_to_notes(events)) == events
