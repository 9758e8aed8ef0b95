"""A piece becomes training sequences that fit the context and teach infilling: chunks
timed from their start, a plain sequence each, and copies with anticipated controls."""

from __future__ import annotations

import random

import pytest
from support import AMT_FIXTURES

from midicli.music.midi_io import read_midi
from midicli.music.piece import Note
from midicli.tokenizers import amt
from midicli.tokenizers.vocab import ANTICIPATE, AUTOREGRESS, DELTA_SECONDS
from midicli.training.sequences import (
    INSTRUMENT,
    PLAIN,
    SPAN,
    Chunk,
    chunks,
    encode,
    instrument_controls,
    sequences,
    span_controls,
)


def duet(seconds: float = 40.0) -> list[Note]:
    """Piano and violin alternating every quarter second."""
    return [
        Note(i * 0.25, 0.25, 60 + i % 12, instrument=40 * (i % 2)) for i in range(int(seconds * 4))
    ]


def test_chunks_fit_the_token_budget_and_count_time_from_their_first_note() -> None:
    notes = duet(40.0)
    found = chunks(notes, max_tokens=90)  # 30 notes
    assert [len(c.notes) for c in found] == [30] * 5 + [10]
    assert [c.start for c in found][:3] == [0.0, 7.5, 15.0]
    assert [n for c in found for n in c.notes] == notes  # nothing lost, nothing repeated
    first_event_times = [encode(c)[1] for c in found]
    assert set(first_event_times) == {0}  # every sequence starts at its own time 0


def test_a_long_silence_starts_a_new_chunk_because_arrival_times_reach_only_100_s() -> None:
    notes = [Note(1.0, 0.5, 60), Note(2.0, 0.5, 62), Note(150.0, 0.5, 64), Note(151.0, 0.5, 65)]
    found = chunks(notes, max_tokens=2040)
    assert [(c.start, len(c.notes)) for c in found] == [(1.0, 2), (150.0, 2)]
    assert amt.events_to_notes(encode(found[1])[1:])[1].onset == 1.0


def test_stray_tails_below_min_notes_are_left_out() -> None:
    assert [len(c.notes) for c in chunks(duet(10.0), max_tokens=90, min_notes=20)] == [30]


def test_the_plain_sequence_is_autoregressive_and_decodes_to_the_chunk() -> None:
    piece = read_midi(AMT_FIXTURES / "bach_bwv66_6.mid")
    chunk = chunks(piece.notes, max_tokens=300)[1]
    music = encode(chunk)
    assert music[0] == AUTOREGRESS
    amt.validate(music)
    decoded = amt.events_to_notes(music[1:])
    assert [(round(n.onset + chunk.start, 2), n.pitch) for n in decoded] == [
        (round(n.onset, 2), n.pitch) for n in chunk.notes
    ]


def test_a_span_becomes_controls_interleaved_as_amt_anticipates_them() -> None:
    chunk = chunks(duet(60.0), max_tokens=3 * 240)[0]
    rng = random.Random(3)
    for _ in range(20):
        controlled = span_controls(chunk, rng)
        onsets = sorted(chunk.notes[i].onset for i in controlled)
        assert onsets and onsets[0] > chunk.notes[0].onset
        assert all(
            chunk.notes[i].onset in onsets
            for i in range(len(chunk.notes))
            if onsets[0] <= chunk.notes[i].onset <= onsets[-1]
        )
        music = encode(chunk, controlled)
        assert music[0] == ANTICIPATE
        amt.validate(music)
        events, controls = amt.split(music)
        assert len(events) == 3 * (len(chunk.notes) - len(controlled))
        assert (
            0 < len(controls) <= 3 * len(controlled)
        )  # controls past the last event by over δ are dropped
        interleaved, _ = amt.anticipate(events, controls)
        assert interleaved == music[1:]


def test_controls_more_than_delta_after_the_last_event_are_dropped() -> None:
    chunk = Chunk(0.0, tuple(Note(t, 0.5, 60) for t in (0.0, 1.0, 2.0, 5.0, 20.0)))
    music = encode(chunk, {3, 4})  # 5 s is within δ of the event at 2 s; 20 s is not
    _, controls = amt.split(music)
    assert amt.events_to_notes(controls, controls=True)[0].onset == 5.0 and len(controls) == 3
    assert DELTA_SECONDS == 5


def test_instrument_augmentation_turns_whole_instruments_into_controls_never_all() -> None:
    chunk = chunks(duet(20.0), max_tokens=3 * 80)[0]
    rng = random.Random(0)
    for _ in range(10):
        controlled = instrument_controls(chunk, rng)
        parts = {chunk.notes[i].instrument for i in controlled}
        assert len(parts) == 1
        assert controlled == {i for i, n in enumerate(chunk.notes) if n.instrument in parts}


@pytest.mark.parametrize("copies", [1, 4])
def test_each_chunk_gives_a_plain_sequence_then_augmented_copies_reproducibly(copies: int) -> None:
    chunk = chunks(duet(30.0), max_tokens=3 * 120)[0]
    first = sequences(chunk, copies, random.Random(7))
    assert [s.augmentation for s in first][0] == PLAIN and len(first) == copies
    assert all(s.augmentation in (SPAN, INSTRUMENT) and s.anticipates for s in first[1:])
    assert first == sequences(chunk, copies, random.Random(7))


def test_a_one_instrument_chunk_is_only_augmented_by_spans() -> None:
    solo = chunks([Note(i * 0.5, 0.5, 60 + i % 7) for i in range(60)], max_tokens=180)[0]
    assert {s.augmentation for s in sequences(solo, 12, random.Random(1))} == {PLAIN, SPAN}
