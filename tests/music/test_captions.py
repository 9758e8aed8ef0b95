"""Captions in MidiCaps' words, and reading a caption's requests back out of it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from support import AMT_FIXTURES, FIXTURE_MIDIS

from midicli.music.analysis import features
from midicli.music.captions import Requested, caption, parse_caption
from midicli.music.midi_io import read_midi
from midicli.music.piece import Note, Piece


def test_a_chorale_caption_reads_like_midicaps() -> None:
    words = caption(features(read_midi(AMT_FIXTURES / "bach_bwv66_6.mid")), ["classical"])
    assert words.startswith("A classical piece featuring acoustic grand piano.")
    assert "Set in the key of F# minor with a 4/4 time signature" in words
    assert "a Moderato tempo of 96 bpm" in words
    assert "moderately dense" in words and "middle register" in words
    assert words.endswith("It lasts 22 seconds: a short fragment.")


def test_several_genres_and_instruments_are_listed() -> None:
    measured = replace(
        features(read_midi(AMT_FIXTURES / "edge_drums_tempo_change.mid")),
        duration=135.0,
        length_word="song",
    )
    words = caption(measured, ["electronic", "rock"])
    assert words.startswith(
        "An electronic and rock piece featuring electric bass (finger) and drums."
    )
    assert "It lasts 2 minutes 15 seconds: a song." in words


@pytest.mark.parametrize("path", FIXTURE_MIDIS, ids=lambda p: p.stem)
def test_parsing_a_caption_gives_back_what_was_measured(path: Path) -> None:
    measured = features(read_midi(path))
    asked = parse_caption(caption(measured, ["pop"]))
    assert asked == Requested(
        measured.instruments,
        measured.key,
        measured.mode,
        measured.tempo_word,
        measured.time_signature,
    )


def test_drums_alone_are_captioned_without_a_key() -> None:
    words = caption(features(Piece([Note(i * 0.25, 0.1, 36, 128) for i in range(32)])))
    assert "key" not in words and "With a 4/4 time signature" in words
    assert parse_caption(words).key == ""


def test_an_empty_piece_is_silent() -> None:
    assert caption(features(Piece())) == "A silent piece."


MIDICAPS = (
    "A melodic electronic song with ambient elements, featuring piano, acoustic guitar, alto "
    "saxophone, string ensemble, "
    "and electric bass. Set in G minor with a 4/4 time signature, it moves at a lively Presto "
    "tempo. The composition "
    "evokes a blissful and relaxing mood. The chord progression of Bbmaj7, C, and Dm7 provides "
    "harmonic richness."
)


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        (MIDICAPS, Requested((0, 25, 65, 48, 33), "G", "minor", "Presto", "4/4")),
        (
            "A slow and relaxing classical piece featuring a church organ and French horn. Written "
            "in A minor and 4/4 time.",
            Requested((19, 60), "A", "minor", "slow", "4/4"),
        ),
        (
            "Upbeat jazz with lively saxophones and drums at a moderate tempo, in E flat major, "
            "3/4.",
            Requested((65, 128), "Eb", "major", "moderate", "3/4"),
        ),
        (
            "A piece in F-sharp minor for violins, cellos and a drum kit.",
            Requested((40, 42, 128), "F#", "minor"),
        ),
        ("An energetic pop song you love to hear on a long road trip.", Requested()),
    ],
    ids=["midicaps", "slow organ", "plurals and flats", "sharps", "nothing asked"],
)
def test_free_wording_is_read_reasonably(text: str, asked: Requested) -> None:
    assert parse_caption(text) == asked


def test_words_that_only_look_like_requests_are_not_taken() -> None:
    asked = parse_caption("A lead melody over a pad of chords, in a minor key, very fast.")
    assert asked.instruments == () and asked.key == ""
    assert asked.tempo_word == "very fast"
    assert parse_caption("Moderately quick, with a lively feel.").tempo_word == ""


@pytest.mark.parametrize(
    "word",
    ["Larghissimo", "Lento", "Larghetto", "Adagietto", "Andantino", "Allegretto", "Vivacissimo"],
)
def test_midicaps_other_italian_tempo_words_are_read(word: str) -> None:
    assert parse_caption(f"A gentle waltz at a {word.lower()} tempo.").tempo_word == word


@pytest.mark.parametrize(
    ("text", "instruments"),
    [
        ("A string quartet in D major.", (40, 41, 42)),
        ("Romantic piano trio, Lento.", (0, 40, 42)),
        ("A brass quintet fanfare with timpani.", (56, 60, 57, 58, 47)),
        ("For wind quintet.", (73, 68, 71, 60, 70)),
        ("Two string quartets and a piano.", (40, 41, 42, 0)),
    ],
)
def test_ensembles_are_read_as_their_instruments(text: str, instruments: tuple[int, ...]) -> None:
    assert parse_caption(text).instruments == instruments
