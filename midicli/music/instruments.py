"""General MIDI instrument names, and reading the instrument words users type."""

from __future__ import annotations

import difflib
import re

from midicli.errors import GenerationError
from midicli.music.piece import DRUMS, INSTRUMENTS

# Programs that play chords in real scores: keyboards, chromatic percussion, organs,
# guitars, harp, ensembles and choirs, pads and effects (drums are a kit: chords too).
CHORDAL_PROGRAMS = frozenset([*range(0, 32), 46, *range(48, 56), *range(88, 104)])


def chord_limits(cap: int) -> tuple[int, ...]:
    """Per instrument (0–127, 128 drums), the most notes it may start at once: ``cap``
    for chordal instruments and drums, half of it for the rest (a solo line, or a few
    parts merged on one program: of the music21 corpus's violins, 95 % start at most
    5 notes together, of its flutes, violas and oboes 3)."""
    melodic = max(1, (cap + 1) // 2)
    return tuple(
        cap if p in CHORDAL_PROGRAMS or p == DRUMS else melodic for p in range(INSTRUMENTS)
    )


GM_NAMES: tuple[str, ...] = (
    # Piano
    "Acoustic Grand Piano",
    "Bright Acoustic Piano",
    "Electric Grand Piano",
    "Honky-tonk Piano",
    "Electric Piano 1",
    "Electric Piano 2",
    "Harpsichord",
    "Clavinet",
    # Chromatic percussion
    "Celesta",
    "Glockenspiel",
    "Music Box",
    "Vibraphone",
    "Marimba",
    "Xylophone",
    "Tubular Bells",
    "Dulcimer",
    # Organ
    "Drawbar Organ",
    "Percussive Organ",
    "Rock Organ",
    "Church Organ",
    "Reed Organ",
    "Accordion",
    "Harmonica",
    "Tango Accordion",
    # Guitar
    "Acoustic Guitar (nylon)",
    "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)",
    "Electric Guitar (clean)",
    "Electric Guitar (muted)",
    "Overdriven Guitar",
    "Distortion Guitar",
    "Guitar Harmonics",
    # Bass
    "Acoustic Bass",
    "Electric Bass (finger)",
    "Electric Bass (pick)",
    "Fretless Bass",
    "Slap Bass 1",
    "Slap Bass 2",
    "Synth Bass 1",
    "Synth Bass 2",
    # Strings
    "Violin",
    "Viola",
    "Cello",
    "Contrabass",
    "Tremolo Strings",
    "Pizzicato Strings",
    "Orchestral Harp",
    "Timpani",
    # Ensemble
    "String Ensemble 1",
    "String Ensemble 2",
    "Synth Strings 1",
    "Synth Strings 2",
    "Choir Aahs",
    "Voice Oohs",
    "Synth Voice",
    "Orchestra Hit",
    # Brass
    "Trumpet",
    "Trombone",
    "Tuba",
    "Muted Trumpet",
    "French Horn",
    "Brass Section",
    "Synth Brass 1",
    "Synth Brass 2",
    # Reed
    "Soprano Sax",
    "Alto Sax",
    "Tenor Sax",
    "Baritone Sax",
    "Oboe",
    "English Horn",
    "Bassoon",
    "Clarinet",
    # Pipe
    "Piccolo",
    "Flute",
    "Recorder",
    "Pan Flute",
    "Blown Bottle",
    "Shakuhachi",
    "Whistle",
    "Ocarina",
    # Synth lead
    "Lead 1 (square)",
    "Lead 2 (sawtooth)",
    "Lead 3 (calliope)",
    "Lead 4 (chiff)",
    "Lead 5 (charang)",
    "Lead 6 (voice)",
    "Lead 7 (fifths)",
    "Lead 8 (bass + lead)",
    # Synth pad
    "Pad 1 (new age)",
    "Pad 2 (warm)",
    "Pad 3 (polysynth)",
    "Pad 4 (choir)",
    "Pad 5 (bowed)",
    "Pad 6 (metallic)",
    "Pad 7 (halo)",
    "Pad 8 (sweep)",
    # Synth effects
    "FX 1 (rain)",
    "FX 2 (soundtrack)",
    "FX 3 (crystal)",
    "FX 4 (atmosphere)",
    "FX 5 (brightness)",
    "FX 6 (goblins)",
    "FX 7 (echoes)",
    "FX 8 (sci-fi)",
    # Ethnic
    "Sitar",
    "Banjo",
    "Shamisen",
    "Koto",
    "Kalimba",
    "Bagpipe",
    "Fiddle",
    "Shanai",
    # Percussive
    "Tinkle Bell",
    "Agogo",
    "Steel Drums",
    "Woodblock",
    "Taiko Drum",
    "Melodic Tom",
    "Synth Drum",
    "Reverse Cymbal",
    # Sound effects
    "Guitar Fret Noise",
    "Breath Noise",
    "Seashore",
    "Bird Tweet",
    "Telephone Ring",
    "Helicopter",
    "Applause",
    "Gunshot",
)
DRUMS_NAME = "Drums"

# Everyday words for the instrument a user most likely means.
SHORT_NAMES: dict[str, int] = {
    "piano": 0,
    "grand piano": 0,
    "electric piano": 4,
    "rhodes": 4,
    "keys": 0,
    "harpsichord": 6,
    "celesta": 8,
    "glockenspiel": 9,
    "music box": 10,
    "vibes": 11,
    "vibraphone": 11,
    "marimba": 12,
    "xylophone": 13,
    "bells": 14,
    "organ": 19,
    "church organ": 19,
    "hammond": 16,
    "rock organ": 18,
    "accordion": 21,
    "harmonica": 22,
    "guitar": 24,
    "nylon guitar": 24,
    "classical guitar": 24,
    "acoustic guitar": 25,
    "steel guitar": 25,
    "electric guitar": 27,
    "jazz guitar": 26,
    "clean guitar": 27,
    "overdrive guitar": 29,
    "distortion guitar": 30,
    "bass": 32,
    "electric bass": 33,
    "acoustic bass": 32,
    "upright bass": 32,
    "double bass": 43,
    "contrabass": 43,
    "fretless bass": 35,
    "slap bass": 36,
    "synth bass": 38,
    "violin": 40,
    "viola": 41,
    "cello": 42,
    "strings": 48,
    "string ensemble": 48,
    "string section": 48,
    "pizzicato": 45,
    "tremolo": 44,
    "harp": 46,
    "timpani": 47,
    "synth strings": 50,
    "choir": 52,
    "voice": 53,
    "vocals": 53,
    "orchestra hit": 55,
    "trumpet": 56,
    "trombone": 57,
    "tuba": 58,
    "horn": 60,
    "french horn": 60,
    "brass": 61,
    "synth brass": 62,
    "sax": 65,
    "saxophone": 65,
    "soprano sax": 64,
    "alto sax": 65,
    "tenor sax": 66,
    "baritone sax": 67,
    "oboe": 68,
    "english horn": 69,
    "bassoon": 70,
    "clarinet": 71,
    "piccolo": 72,
    "flute": 73,
    "recorder": 74,
    "pan flute": 75,
    "whistle": 78,
    "ocarina": 79,
    "lead": 80,
    "synth lead": 80,
    "square lead": 80,
    "saw lead": 81,
    "pad": 89,
    "synth pad": 89,
    "warm pad": 89,
    "sitar": 104,
    "banjo": 105,
    "shamisen": 106,
    "koto": 107,
    "kalimba": 108,
    "bagpipe": 109,
    "bagpipes": 109,
    "fiddle": 110,
    "steel drums": 114,
    "woodblock": 115,
    "taiko": 116,
    "drums": DRUMS,
    "drum": DRUMS,
    "drum kit": DRUMS,
    "drumkit": DRUMS,
    "kit": DRUMS,
    "percussion": DRUMS,
}


class UnknownInstrumentError(GenerationError):
    """An instrument word that names no General MIDI instrument."""


def _normal(text: str) -> str:
    """Lower case, with hyphens, underscores and brackets read as spaces."""
    return " ".join(re.sub(r"[-_()]", " ", text.lower()).split())


_BY_NAME: dict[str, int] = {
    **SHORT_NAMES,
    **{_normal(name): program for program, name in enumerate(GM_NAMES)},
    _normal(DRUMS_NAME): DRUMS,
}


def instrument_name(instrument: int) -> str:
    """The General MIDI name of a program 0–127, or "Drums" for 128."""
    if instrument == DRUMS:
        return DRUMS_NAME
    if not 0 <= instrument < len(GM_NAMES):
        raise UnknownInstrumentError(
            f"instrument {instrument} is out of range: use 0–127, or 128 for drums"
        )
    return GM_NAMES[instrument]


def parse_instrument(text: str) -> int:
    """The instrument a user means by a program number, a GM name or a common word."""
    word = _normal(text)
    if word.isdigit():
        number = int(word)
        if number < INSTRUMENTS:
            return number
        raise UnknownInstrumentError(
            f"instrument {number} is out of range: use 0–127, or 128 for drums"
        )
    if word in _BY_NAME:
        return _BY_NAME[word]
    close = difflib.get_close_matches(word, list(_BY_NAME), n=4, cutoff=0.6)
    hint = (
        f"; did you mean {', '.join(repr(c) for c in close)}?"
        if close
        else "; try a General MIDI name or a number 0–128"
    )
    raise UnknownInstrumentError(f"unknown instrument {text.strip()!r}{hint}")


def parse_instruments(text: str) -> frozenset[int]:
    """A comma-separated list of instruments, e.g. ``"piano,drums"``."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise UnknownInstrumentError(
            "no instruments given: list them separated by commas, e.g. piano,drums"
        )
    return frozenset(parse_instrument(part) for part in parts)
