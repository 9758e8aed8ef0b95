"""The token grammar every engine samples under: each rule alone, then whole sampled
sequences checked against an independent reading of the AMT format (each note TIME,
DUR, NOTE; times never decrease; only events, never controls or special tokens)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from midicli import defaults
from midicli.engines.constraints import apply_to_logits, check_sequence
from midicli.tokenizers.amt_generation import Grammar, GrammarSpec
from midicli.tokenizers.vocab import (
    ANTICIPATE,
    ATIME_OFFSET,
    AUTOREGRESS,
    CONTROL_OFFSET,
    DELTA,
    DRUMS,
    DUR_OFFSET,
    MAX_DUR,
    MAX_INSTRUMENT,
    MAX_PITCH,
    MAX_TIME,
    MUSIC_VOCAB_SIZE,
    NOTE_OFFSET,
    REST,
    SEPARATOR,
    TIME_OFFSET,
)

TEXT = 8  # a tiny text vocabulary keeps sampling fast; MIDI-LLM's size is tested once
EOS = 3
NEG_INF = float("-inf")


@pytest.fixture(autouse=True)
def one_thread():
    """Row-sized tensor work gains nothing from threads, which only spin on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def event(time: int, dur: int = 10, instrument: int = 0, pitch: int = 60) -> list[int]:
    return [TIME_OFFSET + time, DUR_OFFSET + dur, NOTE_OFFSET + MAX_PITCH * instrument + pitch]


def control(time: int, dur: int = 10, instrument: int = 0, pitch: int = 60) -> list[int]:
    return [CONTROL_OFFSET + t for t in event(time, dur, instrument, pitch)]


def drive(spec: GrammarSpec, tokens: list[int]) -> Grammar:
    grammar = Grammar(spec)
    for token in tokens:
        grammar.advance(token)
    return grammar


def time_floor(grammar: Grammar) -> int:
    ((start, end),) = grammar.allowed()
    assert end == TIME_OFFSET + MAX_TIME
    return start - TIME_OFFSET


def anticipate_by_hand(
    events: list[int], controls: list[int], delta: int, event_time: int
) -> list[int]:
    """AMT's interleaving written out plainly: before each event (and after the last),
    every control whose time - delta <= the latest event time goes in."""
    out, pending = [], [controls[i : i + 3] for i in range(0, len(controls), 3)]

    def inject() -> None:
        while pending and event_time >= pending[0][0] - ATIME_OFFSET - delta:
            out.extend(pending.pop(0))

    for i, token in enumerate(events):
        if i % 3 == 0:
            inject()
            event_time = token - TIME_OFFSET
        out.append(token)
    if len(events) % 3 == 0:
        inject()
    return out


def instruments_of(tokens: Sequence[int]) -> set[int]:
    """Instruments of the NOTE and ANOTE tokens."""
    notes = [t - CONTROL_OFFSET if t >= CONTROL_OFFSET else t for t in tokens]
    return {(n - NOTE_OFFSET) // MAX_PITCH for n in notes if NOTE_OFFSET <= n < REST}


def sample(
    specs: list[GrammarSpec], steps: int, seed: int, time_slope: float = 0.0
) -> list[tuple[list[int], Grammar]]:
    """Sample a batch under the grammar from uniform logits; ``time_slope`` makes late
    times exponentially less likely, so instants fill up and the cap is reached."""
    generator = torch.Generator().manual_seed(seed)
    bias = torch.zeros(TEXT + MUSIC_VOCAB_SIZE)
    bias[TEXT + TIME_OFFSET : TEXT + MAX_TIME] = -time_slope * torch.arange(
        MAX_TIME, dtype=torch.float32
    )
    grammars = [Grammar(spec) for spec in specs]
    runs: list[list[int]] = [[] for _ in specs]
    for _ in range(steps):
        if all(g.finished for g in grammars):
            break
        logits = apply_to_logits(bias.repeat(len(specs), 1), grammars, TEXT, EOS)
        gumbel = -torch.rand(logits.shape, generator=generator).log_().neg_().log_()
        picks = (logits + gumbel).argmax(-1).tolist()  # an exact draw from softmax(logits)
        for grammar, run, pick in zip(grammars, runs, picks):
            if grammar.finished:
                assert pick == EOS
            else:
                grammar.advance(pick - TEXT)
                run.append(pick - TEXT)
    return list(zip(runs, grammars))


def assert_obeys(spec: GrammarSpec, tokens: list[int], finished: bool) -> None:
    """Check a generated continuation against the rules, without using Grammar."""
    history_events = [t for t in spec.history if t < CONTROL_OFFSET]
    generated_events = [t for t in tokens if t < CONTROL_OFFSET]
    events = history_events + generated_events
    for i, token in enumerate(events):
        start = (TIME_OFFSET, DUR_OFFSET, NOTE_OFFSET)[i % 3]
        end = (TIME_OFFSET + MAX_TIME, DUR_OFFSET + MAX_DUR, REST)[i % 3]
        assert start <= token < end, f"event token {token} out of its slot"

    # Times: never backwards, >= min_time, the cap per instant, stop_time ends it.
    first_new = len(history_events) + (-len(history_events)) % 3
    times = [t - TIME_OFFSET for t in events[0::3]]
    new_times = [t - TIME_OFFSET for t in events[first_new::3]]
    previous = times[: len(times) - len(new_times)]
    onsets = Counter(previous)
    last = previous[-1] if previous else 0
    for time in new_times:
        assert time >= max(last, spec.min_time)
        assert onsets[time] < spec.max_onsets_per_instant
        onsets[time] += 1
        last = time
    stop = MAX_TIME - 1 if spec.stop_time is None else min(spec.stop_time, MAX_TIME - 1)
    assert all(t < stop for t in new_times[:-1])  # nothing is ever placed at the horizon
    assert_musical(spec, history_events, generated_events, stop)
    last_is_time = bool(tokens) and TIME_OFFSET <= tokens[-1] < DUR_OFFSET
    assert finished == (last_is_time and bool(new_times) and new_times[-1] >= stop)

    # Instruments: the allow-list, and at most max_instruments in the piece.
    before = instruments_of(spec.history) | instruments_of(spec.controls)
    new = instruments_of(tokens)
    if spec.instruments is not None:
        assert instruments_of(generated_events) <= spec.instruments
    assert len(before | new) <= max(spec.max_instruments, len(before))

    # Controls: exactly where AMT's interleaving puts them, none after a note is begun.
    partial = len(history_events) % 3
    event_time = history_events[-partial or -3] - TIME_OFFSET if history_events else 0
    split = (3 - partial) % 3
    rest = anticipate_by_hand(generated_events[split:], list(spec.controls), spec.delta, event_time)
    assert tokens == (generated_events[:split] + rest)[: len(tokens)]


def spans_of(controls: Sequence[int]) -> list[tuple[int, int]]:
    return [
        (t - CONTROL_OFFSET, t - CONTROL_OFFSET + d - CONTROL_OFFSET - DUR_OFFSET)
        for t, d in zip(controls[0::3], controls[1::3])
    ]


def assert_musical(spec: GrammarSpec, history: list[int], generated: list[int], stop: int) -> None:
    """No note twice at one instant, the per-instrument cap, and with ``max_gap`` no
    silence longer than it and no end before the span is filled."""
    triplets = [history[i : i + 3] for i in range(0, len(history) - len(history) % 3, 3)]
    split = (-len(history)) % 3
    if len(history) % 3:
        triplets.append(history[len(history) - len(history) % 3 :] + generated[:split])
    first_new = len(history) // 3  # the first triplet with a generated note
    first_time = len(triplets)  # the first with a generated time
    triplets += [generated[i : i + 3] for i in range(split, len(generated), 3)]
    reach = spec.min_time
    spans = sorted(
        spans_of([t for t in spec.history if t >= CONTROL_OFFSET]) + spans_of(spec.controls)
    )
    begun: dict[int, list[tuple[int, int]]] = {}
    for index, triplet in enumerate(triplets):
        time = triplet[0] - TIME_OFFSET
        while spans and spans[0][0] <= reach + (spec.max_gap or 0):
            reach = max(reach, spans.pop(0)[1])
        if len(triplet) == 1:  # the time that ended the sequence
            if spec.max_gap is not None and index >= first_time and time >= stop:
                last = triplets[index - 1][0] - TIME_OFFSET if index else 0
                assert reach >= stop - spec.fill_slack or last >= stop - 1 or spec.min_time >= stop
            break
        if index >= first_time and spec.max_gap is not None:
            assert time <= reach + spec.max_gap, "a silence longer than max_gap"
        if len(triplet) == 3:
            instrument, pitch = divmod(triplet[2] - NOTE_OFFSET, MAX_PITCH)
            here = begun.setdefault(time, [])
            if index >= first_new:
                assert (instrument, pitch) not in here, "a note doubled at one instant"
                if spec.max_onsets_per_instrument is not None:
                    assert (
                        sum(i == instrument for i, _ in here)
                        < spec.max_onsets_per_instrument[instrument]
                    )
            here.append((instrument, pitch))
        if len(triplet) >= 2:
            reach = max(reach, time + triplet[1] - DUR_OFFSET)


# --- the triplet -------------------------------------------------------------------


def test_a_note_is_time_then_duration_then_pitch():
    grammar = Grammar(GrammarSpec())
    assert grammar.allowed() == ((TIME_OFFSET, TIME_OFFSET + MAX_TIME),)
    grammar.advance(TIME_OFFSET + 120)
    assert grammar.allowed() == ((DUR_OFFSET, DUR_OFFSET + MAX_DUR),)
    grammar.advance(DUR_OFFSET + 999)
    assert grammar.allowed() == ((NOTE_OFFSET, REST),)
    grammar.advance(NOTE_OFFSET + 60)
    assert time_floor(grammar) == 120
    assert not grammar.finished and grammar.forced() is None


@pytest.mark.parametrize(
    "token",
    [
        REST,
        SEPARATOR,
        AUTOREGRESS,
        ANTICIPATE,
        *control(0),
        -1,
        MUSIC_VOCAB_SIZE,
        DUR_OFFSET,
        NOTE_OFFSET,
    ],
)
def test_a_new_note_never_starts_with_rest_specials_controls_or_other_slots(token):
    grammar = Grammar(GrammarSpec())
    assert not grammar.permits(token)
    with pytest.raises(ValueError, match="not allowed"):
        grammar.advance(token)


# --- time --------------------------------------------------------------------------


def test_times_never_go_backwards():
    grammar = drive(GrammarSpec(), event(300) + event(450))
    assert time_floor(grammar) == 450
    assert not grammar.permits(TIME_OFFSET + 449)


def test_history_event_times_count_but_control_times_do_not():
    spec = GrammarSpec(
        history=tuple(event(200) + control(900) + event(250)), controls=tuple(control(2000))
    )
    assert time_floor(Grammar(spec)) == 250


def test_min_time_is_a_floor_for_generated_times():
    grammar = Grammar(GrammarSpec(history=tuple(event(100)), min_time=700))
    assert time_floor(grammar) == 700
    grammar = Grammar(GrammarSpec(history=tuple(event(900)), min_time=700))
    assert time_floor(grammar) == 900


def test_a_full_instant_pushes_the_next_time_on():
    grammar = drive(GrammarSpec(max_onsets_per_instant=2), event(50) + event(50, pitch=64))
    assert time_floor(grammar) == 51
    history = event(10) + event(50) + event(50, pitch=64)
    grammar = Grammar(GrammarSpec(history=tuple(history), max_onsets_per_instant=3))
    assert time_floor(grammar) == 50
    grammar.advance(TIME_OFFSET + 50)
    grammar.advance(DUR_OFFSET)
    grammar.advance(NOTE_OFFSET + 67)
    assert time_floor(grammar) == 51


def test_the_default_cap_allows_a_dense_chord_but_not_hundreds():
    cap = GrammarSpec().max_onsets_per_instant
    assert 12 <= cap < 100
    grammar = drive(GrammarSpec(), [t for pitch in range(cap) for t in event(0, pitch=pitch)])
    assert time_floor(grammar) == 1


def test_a_time_at_or_after_stop_time_finishes_at_once():
    grammar = drive(GrammarSpec(stop_time=500, controls=tuple(control(2000))), event(100))
    assert grammar.permits(TIME_OFFSET + MAX_TIME - 1)
    grammar.advance(TIME_OFFSET + 500)
    assert grammar.finished
    assert grammar.allowed() == () and grammar.forced() is None
    with pytest.raises(ValueError):
        grammar.advance(DUR_OFFSET)


def test_without_stop_time_the_horizon_ends_the_window_instead_of_piling_notes_there():
    grammar = drive(GrammarSpec(), event(MAX_TIME - 2) + event(MAX_TIME - 2, pitch=62))
    assert grammar.permits(TIME_OFFSET + MAX_TIME - 1)
    grammar.advance(TIME_OFFSET + MAX_TIME - 1)  # the 99.99 s horizon: the window is over
    assert grammar.finished and grammar.allowed() == ()


# --- what is never music -----------------------------------------------------------


def test_a_note_is_never_doubled_at_one_instant():
    grammar = drive(GrammarSpec(), event(50, instrument=0, pitch=60) + event(50)[:2])
    assert not grammar.permits(NOTE_OFFSET + 60)  # the same piano C4 again
    assert grammar.permits(NOTE_OFFSET + 61) and grammar.permits(NOTE_OFFSET + MAX_PITCH * 40 + 60)
    grammar = drive(GrammarSpec(), event(50) + event(51)[:2])
    assert grammar.permits(NOTE_OFFSET + 60)  # a later instant may repeat it


def test_one_instrument_has_a_cap_at_one_instant():
    two = (2,) * MAX_INSTRUMENT
    grammar = drive(
        GrammarSpec(max_onsets_per_instrument=two),
        event(50, pitch=60) + event(50, pitch=64) + event(50)[:2],
    )
    assert grammar.allowed() == (
        (note_range(1)[0], REST),
    )  # no third piano note, any other instrument
    only_piano = drive(
        GrammarSpec(instruments=frozenset({0}), max_onsets_per_instrument=two),
        event(50) + event(50, pitch=64),
    )
    assert time_floor(only_piano) == 51  # nothing left to start here: time moves on


def test_no_silence_longer_than_max_gap_and_no_end_before_the_span_is_filled():
    spec = GrammarSpec(stop_time=1000, max_gap=300, fill_slack=50)
    grammar = drive(spec, event(100, dur=50))
    assert grammar.allowed() == ((TIME_OFFSET + 100, TIME_OFFSET + 451),)  # up to 3 s after 1.5 s
    grammar = drive(spec, event(100, dur=400) + event(700, dur=200))
    assert grammar.allowed() == (
        (TIME_OFFSET + 700, TIME_OFFSET + 1000),
    )  # sounds to 9 s: not yet filled
    grammar = drive(spec, event(100, dur=400) + event(700, dur=260))
    assert grammar.allowed() == (
        (TIME_OFFSET + 700, TIME_OFFSET + MAX_TIME),
    )  # to 9.6 s: filled, may end
    grammar.advance(TIME_OFFSET + 1000)
    assert grammar.finished


def test_known_notes_ahead_count_as_sound_for_the_gap():
    spec = GrammarSpec(controls=tuple(control(400, dur=500)), stop_time=2000, max_gap=300, delta=0)
    grammar = drive(spec, event(100, dur=50))
    assert grammar.allowed() == (
        (TIME_OFFSET + 100, TIME_OFFSET + 1201),
    )  # the control sounds 4–9 s


def test_a_window_with_no_time_left_before_its_stop_may_end():
    grammar = drive(
        GrammarSpec(stop_time=101, max_gap=300, fill_slack=0, max_onsets_per_instant=1),
        event(100, dur=0),
    )
    assert grammar.allowed() == ((TIME_OFFSET + 101, TIME_OFFSET + MAX_TIME),)


def test_the_key_lean_is_added_to_pitched_notes_only_where_a_note_is_sampled():
    lean = tuple(1.0 if pc in (0, 4, 7) else -1.0 for pc in range(12))
    grammar = drive(GrammarSpec(pitch_bias=lean), event(0)[:2])
    logits = apply_to_logits(torch.zeros(TEXT + MUSIC_VOCAB_SIZE), [grammar], TEXT, EOS)
    piano, drums = TEXT + NOTE_OFFSET, TEXT + NOTE_OFFSET + MAX_PITCH * DRUMS
    assert (
        logits[piano + 60] == 1.0
        and logits[piano + 61] == -1.0
        and logits[piano + MAX_PITCH * 40 + 67] == 1.0
    )
    assert logits[drums + 61] == 0.0  # drums have no key
    at_time = apply_to_logits(
        torch.zeros(TEXT + MUSIC_VOCAB_SIZE), [Grammar(GrammarSpec(pitch_bias=lean))], TEXT, EOS
    )
    assert set(at_time[TEXT + TIME_OFFSET : TEXT + MAX_TIME].tolist()) == {0.0}


def test_the_instrument_lean_moves_whole_instruments_drums_included():
    lean = tuple(0.0 if i in (0, DRUMS) else -2.0 for i in range(MAX_INSTRUMENT))
    key = tuple(1.0 if pc == 0 else 0.0 for pc in range(12))
    grammar = drive(GrammarSpec(pitch_bias=key, instrument_bias=lean), event(0)[:2])
    logits = apply_to_logits(torch.zeros(TEXT + MUSIC_VOCAB_SIZE), [grammar], TEXT, EOS)
    note = TEXT + NOTE_OFFSET
    assert logits[note + 60] == 1.0 and logits[note + 61] == 0.0  # piano: asked, key lean only
    assert logits[note + MAX_PITCH * 40 + 60] == -1.0  # violin: not asked
    assert logits[note + MAX_PITCH * DRUMS + 36] == 0.0 and logits[REST + TEXT - 1] == 0.0


# --- instruments -------------------------------------------------------------------


def note_range(instrument: int) -> tuple[int, int]:
    return (NOTE_OFFSET + MAX_PITCH * instrument, NOTE_OFFSET + MAX_PITCH * (instrument + 1))


def test_notes_come_from_the_instrument_allow_list():
    grammar = drive(GrammarSpec(instruments=frozenset({DRUMS, 0, 1, 40})), event(0)[:2])
    assert grammar.allowed() == (
        (note_range(0)[0], note_range(1)[1]),
        note_range(40),
        note_range(DRUMS),
    )
    assert grammar.permits(NOTE_OFFSET + MAX_PITCH * DRUMS + 36)
    assert not grammar.permits(NOTE_OFFSET + MAX_PITCH * 2)


def test_a_full_band_only_plays_its_own_instruments():
    spec = GrammarSpec(
        history=tuple(event(0, instrument=5) + control(100, instrument=7)),
        controls=tuple(control(900, instrument=9)),
        max_instruments=4,
    )
    grammar = drive(spec, event(10, instrument=20)[:2])
    assert grammar.allowed() == ((NOTE_OFFSET, REST),)
    grammar.advance(NOTE_OFFSET + MAX_PITCH * 20)  # the fourth instrument
    grammar.advance(TIME_OFFSET + 20)
    grammar.advance(DUR_OFFSET)
    assert grammar.allowed() == (note_range(5), note_range(7), note_range(9), note_range(20))


def test_an_allow_list_that_no_longer_fits_the_band_is_refused():
    with pytest.raises(ValueError, match="no instrument"):
        Grammar(
            GrammarSpec(
                history=tuple(event(0, instrument=5)),
                instruments=frozenset({6}),
                max_instruments=1,
            )
        )


# --- controls ----------------------------------------------------------------------


def test_controls_are_injected_where_amt_puts_them():
    spec = GrammarSpec(controls=tuple(control(600) + control(1200) + control(1250)), delta=DELTA)
    generated = event(50) + event(100) + event(650) + event(700) + event(800)
    c600, c1200, c1250 = spec.controls[0:3], spec.controls[3:6], spec.controls[6:9]
    # by hand: each control goes in right after the first event at or past its time - 5 s
    expected = (
        event(50)
        + event(100)
        + [*c600]
        + event(650)
        + event(700)
        + [*c1200]
        + event(800)
        + [*c1250]
    )
    grammar, tokens = Grammar(spec), []
    pending = iter(generated)
    while len(tokens) < len(expected):
        forced = grammar.forced()
        token = forced if forced is not None and forced >= CONTROL_OFFSET else next(pending)
        grammar.advance(token)
        tokens.append(token)
    assert tokens == expected
    assert grammar.allowed() == ((TIME_OFFSET + 800, TIME_OFFSET + MAX_TIME),)


def test_each_control_token_is_forced_one_at_a_time():
    spec = GrammarSpec(controls=tuple(control(100, dur=7, instrument=3, pitch=40)))
    grammar = Grammar(spec)  # due before the first token: 0 >= 100 - delta
    for token in spec.controls:
        assert grammar.allowed() == ((token, token + 1),) and grammar.forced() == token
        grammar.advance(token)
    assert grammar.forced() is None


def test_controls_wait_for_a_history_that_ends_inside_a_note():
    spec = GrammarSpec(
        history=tuple(event(0) + event(400)[:1]), controls=tuple(control(900)), delta=DELTA
    )
    grammar = Grammar(spec)
    assert grammar.allowed() == ((DUR_OFFSET, DUR_OFFSET + MAX_DUR),)
    grammar.advance(DUR_OFFSET)
    grammar.advance(NOTE_OFFSET)
    assert grammar.forced() == spec.controls[0]


def test_no_control_follows_the_end():
    grammar = drive(GrammarSpec(stop_time=400, controls=tuple(control(800))), event(300))
    assert grammar.forced() == ATIME_OFFSET + 800
    grammar = drive(GrammarSpec(stop_time=400, controls=tuple(control(900))), event(300))
    grammar.advance(TIME_OFFSET + 400)
    assert grammar.finished and grammar.forced() is None


@pytest.mark.parametrize(
    "spec",
    [
        dict(controls=tuple(control(10)[:2])),
        dict(controls=tuple(event(10))),
        dict(controls=tuple(control(50) + control(10))),
        dict(history=tuple(event(0) + control(10)[:2])),
        dict(history=tuple(event(0)[:1] + control(10))),
        dict(history=(REST,)),
        dict(min_time=MAX_TIME),
        dict(instruments=frozenset({MAX_INSTRUMENT})),
        dict(max_onsets_per_instant=0),
        dict(max_onsets_per_instrument=(0,) * MAX_INSTRUMENT),
        dict(max_onsets_per_instrument=(2,) * 12),
        dict(max_gap=10, fill_slack=20),
        dict(pitch_bias=(1.0,) * 11),
        dict(instrument_bias=(1.0,) * 128),
    ],
)
def test_malformed_specs_are_refused(spec):
    with pytest.raises(ValueError):
        Grammar(GrammarSpec(**spec))


# --- logits ------------------------------------------------------------------------


def test_logits_keep_only_allowed_music_ids_at_midi_llm_width():
    text, width = defaults.MIDI_LLM_TEXT_VOCAB_SIZE, defaults.MIDI_LLM_VOCAB_SIZE
    eos = 128_009
    time_row = Grammar(GrammarSpec(history=tuple(event(70))))
    forced_row = Grammar(GrammarSpec(controls=tuple(control(0))))
    note_row = drive(GrammarSpec(instruments=frozenset({0, 40})), event(0)[:2])
    done_row = drive(GrammarSpec(stop_time=10), [TIME_OFFSET + 10])
    logits = torch.zeros(4, width)
    out = apply_to_logits(logits, [time_row, forced_row, note_row, done_row], text, eos)
    assert out is logits
    kept = [set(torch.nonzero(row != NEG_INF).squeeze(1).tolist()) for row in logits]
    assert kept[0] == set(range(text + TIME_OFFSET + 70, text + TIME_OFFSET + MAX_TIME))
    assert kept[1] == {text + ATIME_OFFSET}
    assert kept[2] == {text + k for i in (0, 40) for k in range(*note_range(i))}
    assert kept[3] == {eos}


def test_a_single_row_and_a_finished_row_without_eos():
    row = torch.zeros(TEXT + MUSIC_VOCAB_SIZE)
    apply_to_logits(row, [Grammar(GrammarSpec())], TEXT, EOS)
    assert (
        torch.isinf(row[: TEXT + TIME_OFFSET]).all() and torch.isinf(row[TEXT + DUR_OFFSET :]).all()
    )
    assert not torch.isinf(row[TEXT + TIME_OFFSET : TEXT + MAX_TIME]).any()
    done = torch.zeros(1, TEXT + MUSIC_VOCAB_SIZE)
    apply_to_logits(done, [drive(GrammarSpec(stop_time=0), [TIME_OFFSET])], TEXT, None)
    assert not torch.isinf(done).any()  # the caller stops it
    with pytest.raises(ValueError, match="rows"):
        apply_to_logits(done, [], TEXT, EOS)


# --- validation for the remote fallback ---------------------------------------------


def test_check_sequence_finds_the_first_forbidden_token():
    spec = GrammarSpec(stop_time=500, controls=tuple(control(700)), delta=DELTA)
    good = event(10) + event(200) + control(700) + event(250)
    assert check_sequence(spec, good) is None
    assert check_sequence(spec, good + [TIME_OFFSET + 600]) is None
    assert (
        check_sequence(spec, good + [TIME_OFFSET + 600, DUR_OFFSET]) == len(good) + 1
    )  # after the end
    assert check_sequence(spec, event(10) + event(200) + event(250)) == 6  # the control was skipped
    assert (
        check_sequence(spec, event(10) + event(200) + control(700) + event(150)) == 9
    )  # backwards
    assert check_sequence(spec, [DUR_OFFSET]) == 0


# --- whole sampled sequences --------------------------------------------------------


def test_sampling_from_scratch_gives_valid_music_until_time_runs_out():
    spec = GrammarSpec(max_onsets_per_instant=3)
    for tokens, grammar in sample([spec] * 4, steps=600, seed=0):
        assert grammar.finished  # uniform times race to 99.99 s and fill the last instant
        assert_obeys(spec, tokens, grammar.finished)
        assert check_sequence(spec, tokens) is None


def test_sampling_keeps_the_cap_and_the_band_size():
    band = frozenset({0, 1, 2, 24, 33, DRUMS})
    spec = GrammarSpec(max_onsets_per_instant=4, max_instruments=3, instruments=band)
    for tokens, grammar in sample([spec] * 4, steps=300, seed=1, time_slope=2.0):
        assert_obeys(spec, tokens, grammar.finished)
        onsets = Counter(tokens[0::3])
        assert max(onsets.values()) == 4  # the cap is actually reached, and held


@st.composite
def specs(draw: st.DrawFn) -> GrammarSpec:
    """Infill- and continuation-like specs: a history with the controls due in it
    interleaved, the rest of the controls pending, and random limits."""
    band = st.sampled_from([0, 1, 30, 40, DRUMS])
    dur, pitch = st.integers(0, MAX_DUR - 1), st.integers(0, MAX_PITCH - 1)

    def notes(count: int, high: int) -> list[list[int]]:
        times = sorted(draw(st.lists(st.integers(0, high), min_size=count, max_size=count)))
        return [event(t, draw(dur), draw(band), draw(pitch)) for t in times]

    delta = draw(st.sampled_from([0, 50, DELTA]))
    gap = draw(st.none() | st.integers(20, 400))
    past = [t for e in notes(draw(st.integers(0, 6)), 400) for t in e]
    cut = draw(st.integers(1, 2)) if past and draw(st.booleans()) else 0  # end inside a note
    controls = [CONTROL_OFFSET + t for e in notes(draw(st.integers(0, 5)), 1500) for t in e]
    history = anticipate_by_hand(past[: len(past) - cut], controls, delta, 0)
    injected = sum(t >= CONTROL_OFFSET for t in history)
    spec = GrammarSpec(
        history=tuple(history),
        min_time=draw(st.integers(0, 600)),
        stop_time=draw(st.none() | st.integers(0, 3000)),
        controls=tuple(controls[injected:]),
        instruments=draw(
            st.none() | st.frozensets(st.sampled_from([0, 1, 30, 40, 73, DRUMS]), min_size=1)
        ),
        max_instruments=draw(st.integers(1, 5)),
        max_onsets_per_instant=draw(st.integers(1, 4)),
        max_onsets_per_instrument=draw(
            st.none()
            | st.lists(st.integers(1, 3), min_size=MAX_INSTRUMENT, max_size=MAX_INSTRUMENT).map(
                tuple
            )
        ),
        max_gap=gap,
        fill_slack=draw(st.integers(0, gap)) if gap is not None else 0,
        delta=delta,
    )
    try:
        Grammar(spec)
    except ValueError:
        assume(False)  # a band already full of instruments the allow-list excludes
    return spec


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), seed=st.integers(0, 2**16), slope=st.sampled_from([0.0, 0.02, 2.0]))
def test_any_sampled_continuation_obeys_every_rule(spec, seed, slope):
    for tokens, grammar in sample([spec] * 2, steps=120, seed=seed, time_slope=slope):
        assert_obeys(spec, tokens, grammar.finished)
        assert check_sequence(spec, tokens) is None
        if tokens:
            spot = seed % len(tokens)
            assert check_sequence(spec, tokens[:spot] + [REST]) == spot
