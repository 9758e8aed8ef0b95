"""A user names instruments the way musicians talk; midicli finds the GM program."""

from __future__ import annotations

import pytest

from midicli.errors import GenerationError, MidicliError
from midicli.music.instruments import (
    GM_NAMES,
    UnknownInstrumentError,
    instrument_name,
    parse_instrument,
    parse_instruments,
)


def test_there_are_128_general_midi_names_plus_drums() -> None:
    assert len(GM_NAMES) == 128
    assert instrument_name(0) == "Acoustic Grand Piano"
    assert instrument_name(40) == "Violin"
    assert instrument_name(127) == "Gunshot"
    assert instrument_name(128) == "Drums"


@pytest.mark.parametrize(
    ("text", "program"),
    [
        ("0", 0),
        ("128", 128),
        (" 73 ", 73),
        ("Acoustic Grand Piano", 0),
        ("acoustic grand piano", 0),
        ("acoustic-grand-piano", 0),
        ("ACOUSTIC_GRAND_PIANO", 0),
        ("Acoustic Guitar (nylon)", 24),
        ("acoustic-guitar-nylon", 24),
        ("Honky-tonk Piano", 3),
    ],
)
def test_numbers_and_exact_names_in_any_spelling(text: str, program: int) -> None:
    assert parse_instrument(text) == program


@pytest.mark.parametrize(
    ("word", "program"),
    [
        ("piano", 0),
        ("drums", 128),
        ("drum kit", 128),
        ("percussion", 128),
        ("guitar", 24),
        ("bass", 32),
        ("violin", 40),
        ("viola", 41),
        ("cello", 42),
        ("strings", 48),
        ("flute", 73),
        ("trumpet", 56),
        ("organ", 19),
        ("choir", 52),
        ("sax", 65),
        ("clarinet", 71),
        ("harp", 46),
    ],
)
def test_everyday_words_pick_a_sensible_program(word: str, program: int) -> None:
    assert parse_instrument(word) == program


def test_every_gm_name_reads_back_as_its_own_program() -> None:
    for program, name in enumerate(GM_NAMES):
        assert parse_instrument(name) == program


def test_an_unknown_instrument_suggests_close_names_on_one_line() -> None:
    with pytest.raises(UnknownInstrumentError) as caught:
        parse_instrument("vilin")
    message = str(caught.value)
    assert "'vilin'" in message and "violin" in message and "\n" not in message
    assert isinstance(caught.value, GenerationError) and isinstance(caught.value, MidicliError)


def test_out_of_range_numbers_are_refused() -> None:
    with pytest.raises(UnknownInstrumentError, match="129"):
        parse_instrument("129")
    with pytest.raises(UnknownInstrumentError):
        instrument_name(200)


def test_a_comma_list_gives_a_set_of_programs() -> None:
    assert parse_instruments("piano,drums") == frozenset({0, 128})
    assert parse_instruments(" violin , cello, violin ") == frozenset({40, 42})
    with pytest.raises(UnknownInstrumentError):
        parse_instruments(" , ")
