"""Notes become AMT tokens and back; infill controls interleave the way MIDI-LLM expects."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from midicli.errors import BadTokensError
from midicli.music.piece import Note, Piece
from midicli.tokenizers.amt import (
    AmtTokenizer,
    Window,
    anticipate,
    events_to_notes,
    from_windows,
    notes_to_events,
    shift,
    split,
    to_controls,
    to_events,
    validate,
    window,
    windows,
)
from midicli.tokenizers.base import Tokenizer
from midicli.tokenizers.vocab import (
    ANTICIPATE,
    AUTOREGRESS,
    CONTROL_OFFSET,
    DUR_OFFSET,
    MUSIC_VOCAB_SIZE,
    NOTE_OFFSET,
    REST,
    SEPARATOR,
)


def event(time: int, pitch: int = 60, dur: int = 10, instrument: int = 0) -> list[int]:
    return [time, DUR_OFFSET + dur, NOTE_OFFSET + 128 * instrument + pitch]


def control(time: int, pitch: int = 60, dur: int = 10) -> list[int]:
    return [token + CONTROL_OFFSET for token in event(time, pitch, dur)]


def quantized(note: Note) -> Note:
    """What a note becomes in tokens: 10 ms steps, durations clipped at 9.99 s, velocity 72."""
    return Note(
        round(100 * note.onset) / 100,
        min(round(100 * note.duration), 999) / 100,
        note.pitch,
        note.instrument,
    )


def note_strategy(max_onset: float) -> st.SearchStrategy[Note]:
    return st.builds(
        Note,
        onset=st.floats(0, max_onset),
        duration=st.floats(0, 20),
        pitch=st.integers(0, 127),
        instrument=st.integers(0, 128),
        velocity=st.integers(1, 127),
    )


def sorted_times(max_size: int = 20) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, 9999), max_size=max_size).map(sorted)


def test_each_note_is_time_duration_and_instrument_pitch() -> None:
    notes = [Note(0.0, 0.5, 60, 0), Note(1.234, 14.0, 36, 128)]
    assert notes_to_events(notes) == [0, 10050, 11060, 123, 10999, 11000 + 128 * 128 + 36]


def test_rounding_is_python_s_round_half_to_even_like_the_reference() -> None:
    assert notes_to_events([Note(0.125, 0.015, 60)])[:2] == [12, DUR_OFFSET + 2]


def test_a_note_past_100_s_asks_for_windows() -> None:
    with pytest.raises(BadTokensError, match=r"note 1 starts at 100\.00 s.*windows"):
        notes_to_events([Note(1.0, 1.0, 60), Note(99.996, 1.0, 60)])


def test_decoding_gives_notes_at_velocity_72_and_skips_rests() -> None:
    tokens = event(0, 60, 50) + [100, DUR_OFFSET, REST] + event(150, 36, 5, 128)
    assert events_to_notes(tokens) == [Note(0.0, 0.5, 60, 0, 72), Note(1.5, 0.05, 36, 128, 72)]


def test_decoding_controls_only_when_asked_and_in_time_order() -> None:
    tokens = [ANTICIPATE] + control(300, 64) + event(0) + event(700, 62)
    with pytest.raises(BadTokensError, match="token 1 "):
        events_to_notes(tokens)
    assert [n.pitch for n in events_to_notes(tokens, controls=True)] == [60, 64, 62]


def test_controls_are_events_moved_into_the_anticipated_block() -> None:
    events = event(0) + [100, DUR_OFFSET, REST] + event(200, 62)
    assert to_controls(events) == control(0) + control(200, 62)
    assert to_events(to_controls(events)) == event(0) + event(200, 62)
    with pytest.raises(BadTokensError, match="token 0 "):
        to_events(event(0))


def test_anticipation_places_controls_after_the_first_event_within_delta_of_them() -> None:
    events = event(0) + event(100) + event(700) + event(1200)
    controls = control(300) + control(800) + control(1500) + control(2000)
    tokens, leftover = anticipate(events, controls, delta=500)
    assert tokens == control(300) + event(0) + event(100) + event(700) + control(800) + event(1200)
    assert leftover == control(1500) + control(2000)


def test_without_controls_anticipation_changes_nothing() -> None:
    assert anticipate(event(0) + event(5), []) == (event(0) + event(5), [])


def test_split_undoes_the_interleaving_and_ignores_the_leading_special() -> None:
    tokens = [ANTICIPATE] + control(300) + event(0) + event(700) + control(800)
    assert split(tokens) == (event(0) + event(700), control(300) + control(800))
    assert split([AUTOREGRESS] + event(0)) == (event(0), [])


@given(sorted_times(), sorted_times(), st.integers(0, 2000))
def test_anticipate_then_split_returns_the_events_and_the_placed_controls(
    event_times: list[int], control_times: list[int], delta: int
) -> None:
    events = [t for time in event_times for t in event(time)]
    controls = [t for time in control_times for t in control(time)]
    tokens, leftover = anticipate(events, controls, delta)
    placed = controls[: len(controls) - len(leftover)]
    assert placed + leftover == controls
    assert split(tokens) == (events, placed)
    if tokens:
        validate([ANTICIPATE if controls else AUTOREGRESS] + tokens)
    last_event_time = 0
    for index in range(0, len(tokens), 3):
        if tokens[index] >= CONTROL_OFFSET:
            assert last_event_time >= tokens[index] - CONTROL_OFFSET - delta
        else:
            last_event_time = tokens[index]
    if leftover and event_times:
        time_before_last_event = event_times[-2] if len(event_times) > 1 else 0
        assert leftover[0] - CONTROL_OFFSET - delta > time_before_last_event


@given(st.lists(note_strategy(99.99), max_size=30))
def test_notes_to_tokens_and_back_is_identity_after_quantization(notes: list[Note]) -> None:
    assert events_to_notes(notes_to_events(notes)) == [quantized(n) for n in notes]


@given(
    st.lists(note_strategy(400.0), max_size=40).map(lambda ns: sorted(ns, key=lambda n: n.onset))
)
def test_windows_map_back_to_absolute_notes(notes: list[Note]) -> None:
    parts = windows(notes, length_s=37.5)
    assert all(part.start == k * 37.5 for k, part in enumerate(parts))
    back = from_windows(parts)
    assert sorted(back) == sorted(quantized(n) for n in notes)


def test_a_270_s_piece_is_three_windows_timed_from_their_start() -> None:
    notes = [Note(0.5, 1.0, 60), Note(150.25, 1.0, 62), Note(269.0, 20.0, 64)]
    parts = windows(notes)
    assert parts == [
        Window(0.0, event(50, 60, 100)),
        Window(100.0, event(5025, 62, 100)),
        Window(200.0, event(6900, 64, 999)),
    ]
    assert from_windows(parts) == [quantized(n) for n in notes]


def test_a_window_can_start_anywhere_for_continuation() -> None:
    notes = [Note(10.0, 1.0, 60), Note(130.0, 1.0, 62), Note(170.0, 1.0, 64)]
    latest = window(notes, start=120.0)
    assert latest == Window(120.0, event(1000, 62, 100) + event(5000, 64, 100))
    assert window(notes, 0.0, 20.0).events == event(1000, 60, 100)
    with pytest.raises(BadTokensError):
        windows(notes, length_s=150)


def test_shift_moves_times_of_events_and_controls() -> None:
    assert shift(event(100) + control(200), -50) == event(50) + control(150)
    with pytest.raises(BadTokensError, match=r"token 3 .*-0\.50 s"):
        shift(event(100) + event(0), -50)


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ([], "^no tokens$"),
        (event(0) + [10], r"^token 3 \(id 10\): the last note is cut short"),
        (event(0) + [MUSIC_VOCAB_SIZE, 0, 0], rf"^token 3 \(id {MUSIC_VOCAB_SIZE}\): out of range"),
        (event(0) + [-1, 0, 0], r"^token 3 \(id -1\): out of range"),
        (
            event(0) + [DUR_OFFSET + 5] + event(0)[1:],
            r"^token 3 \(id 10005\): expected a TIME token \(0–9999\) or an ATIME token "
            r"\(27513–37512\) at position 0 of a note, got a DUR token",
        ),
        (
            event(0) + [5, 11060, 11060],
            r"^token 4 \(id 11060\): expected a DUR token .* got a NOTE token",
        ),
        (
            event(200) + event(100),
            r"^token 3 \(id 100\): event time 1\.00 s comes before the previous event's 2\.00 s",
        ),
        (
            [ANTICIPATE] + control(500) + event(0) + control(400),
            r"^token 7 .*control time 4\.00 s comes before",
        ),
        (
            event(0) + [AUTOREGRESS] + event(0)[:2],
            r"^token 3 \(id 55026\): AUTOREGRESS may only come first",
        ),
        ([SEPARATOR] + event(0)[:2], r"^token 0 .*SEPARATOR"),
        ([AUTOREGRESS] + control(0), r"^token 1 .*start with ANTICIPATE"),
    ],
)
def test_validate_names_the_first_bad_token(tokens: list[int], message: str) -> None:
    with pytest.raises(BadTokensError, match=message) as caught:
        validate(tokens)
    assert "\n" not in str(caught.value)


def test_validate_can_refuse_controls_and_specials() -> None:
    validate([ANTICIPATE] + event(0) + control(10))
    with pytest.raises(BadTokensError, match="^token 0 .*not allowed"):
        validate([AUTOREGRESS] + event(0), allow_specials=False)
    with pytest.raises(BadTokensError, match="^token 3 .*controls are not allowed"):
        validate(event(0) + control(10), allow_controls=False)


def test_the_amt_tokenizer_encodes_and_decodes_pieces() -> None:
    tokenizer = AmtTokenizer()
    assert (
        isinstance(tokenizer, Tokenizer)
        and tokenizer.name == "amt"
        and tokenizer.vocab_size == MUSIC_VOCAB_SIZE
    )
    piece = Piece([Note(0.0, 0.5, 60, 0, 100), Note(0.5, 0.25, 36, 128, 90)])
    tokens = tokenizer.encode(piece)
    assert tokens == notes_to_events(piece.notes)
    assert tokenizer.decode(tokens).notes == [quantized(n) for n in piece.notes]
    assert tokenizer.decode([ANTICIPATE] + control(10) + event(0)).notes == events_to_notes(
        event(0) + event(10)
    )
    assert tokenizer.encode(Piece()) == []
    with pytest.raises(BadTokensError, match="^no tokens$"):
        tokenizer.decode([])
    with pytest.raises(BadTokensError, match="windows"):
        tokenizer.encode(Piece([Note(120.0, 1.0, 60)]))


def test_the_amt_tokenizer_gives_the_grammar_engines_generate_under() -> None:
    """A tokenizer exposes its generation grammar (a plugin scheme could drive constrained
    generation the same way): AMT's follows its own encoding and forbids what validate refuses."""
    from midicli.tokenizers.amt_generation import GrammarSpec

    tokens = AmtTokenizer().encode(
        Piece([Note(0.0, 0.5, 60, 0, 100), Note(0.5, 0.25, 36, 128, 90)])
    )
    grammar = AmtTokenizer().grammar(GrammarSpec())
    for token in tokens:
        assert grammar.permits(token)
        grammar.advance(token)
    assert not grammar.finished
    fresh = AmtTokenizer().grammar(GrammarSpec())
    fresh.advance(tokens[0])
    assert not fresh.permits(tokens[0])  # a TIME where a DUR must come, which validate refuses too
    with pytest.raises(BadTokensError, match="expected a DUR token"):
        validate([tokens[0], tokens[0], tokens[2]])
    assert Tokenizer.grammar(AmtTokenizer(), GrammarSpec()) is None  # a scheme without one
