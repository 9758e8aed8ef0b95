"""MidiCaps-style sentences from measured features, and reading requests back out of them.

``caption`` writes what ``features`` measured in the shape of MidiCaps captions
(instruments, key, meter, tempo word, then texture and length), so that auto-captioned
training data reads like MIDI-LLM's. ``parse_caption`` inverts that wording exactly and
reads MidiCaps' own free wording ("Set in the key of A minor", "a lively Presto
tempo", "featuring piano, alto saxophone and drums") well enough to say what a prompt
asks for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from midicli.music.analysis import MORE_TEMPO_WORDS, TEMPO_WORDS, Features
from midicli.music.instruments import DRUMS_NAME, GM_NAMES, SHORT_NAMES, instrument_name
from midicli.music.piece import DRUMS

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _listed(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _seconds(duration: float) -> str:
    total = round(duration)
    minutes, seconds = divmod(total, 60)
    parts = ([f"{minutes} minute{'s' * (minutes != 1)}"] if minutes else []) + (
        [f"{seconds} second{'s' * (seconds != 1)}"] if seconds or not minutes else []
    )
    return " ".join(parts)


def caption(f: Features, genre_words: Sequence[str] = ()) -> str:
    """A MidiCaps-like description of measured features, e.g.

    "A classical piece featuring acoustic grand piano and violin. Set in the key of
    F# minor with a 4/4 time signature, it moves at a Moderato tempo of 96 bpm. The
    texture is moderately dense, about four notes at a time in a middle register.
    It lasts 22 seconds: a short fragment."
    """
    if not f.instruments:
        return "A silent piece."
    kind = " and ".join(genre_words) + " piece" if genre_words else "piece"
    names = [instrument_name(i).lower() for i in f.instruments]
    sentences = [f"{_article(kind).capitalize()} {kind} featuring {_listed(names)}."]
    where = f"Set in the key of {f.key} {f.mode} with a" if f.key else "With a"
    sentences.append(
        f"{where} {f.time_signature} time signature, it moves at {_article(f.tempo_word)} "
        f"{f.tempo_word} tempo of {round(f.tempo_bpm)} bpm."
    )
    at_once = round(f.polyphony)
    notes = (
        "mostly one note at a time"
        if at_once <= 1
        else f"about {NUMBER_WORDS[min(at_once, 10)]} notes at a time"
    )
    register = (
        f" in {_article(f.register_word)} {f.register_word} register" if f.register_word else ""
    )
    sentences.append(f"The texture is {f.density_word}, {notes}{register}.")
    sentences.append(f"It lasts {_seconds(f.duration)}: {_article(f.length_word)} {f.length_word}.")
    return " ".join(sentences)


@dataclass(frozen=True)
class Requested:
    """What a caption asks of the music; empty fields were not asked for."""

    instruments: tuple[int, ...] = ()  # in the order named, 128 = drums
    key: str = ""  # tonic as written, e.g. "F#", "Bb"
    mode: str = ""  # "major" | "minor"
    tempo_word: str = ""  # a word of analysis.TEMPO_WORDS, MORE_TEMPO_WORDS or PLAIN_TEMPO_WORDS
    time_signature: str = ""  # e.g. "3/4"


def _normal(text: str) -> str:
    """Lower case words, with hyphens, underscores, brackets and punctuation read as spaces."""
    return " ".join(re.sub(r"[^a-z0-9+#]+", " ", text.lower()).split())


# MidiCaps' own names for instruments, where they differ from GM names and everyday words.
MIDICAPS_NAMES: dict[str, int] = {
    "soprano saxophone": 64,
    "alto saxophone": 65,
    "tenor saxophone": 66,
    "baritone saxophone": 67,
    "clean electric guitar": 27,
    "hammond organ": 16,
    "rhodes piano": 4,
    "chorused piano": 5,
    "calliope lead": 82,
    "chiffer lead": 83,
    "charang lead": 84,
    "brass lead": 87,
    "bottle blow": 76,
    "synth effects": 96,
    "shana": 111,
    "drum set": DRUMS,
    "drum kit": DRUMS,
}
# Ensembles named for their instruments: a caption's "string quartet" asks for all of them.
ENSEMBLES: dict[str, tuple[int, ...]] = {
    "string quartet": (40, 41, 42),
    "string trio": (40, 41, 42),  # violin(s), viola, cello
    "piano trio": (0, 40, 42),
    "piano quartet": (0, 40, 41, 42),
    "piano quintet": (0, 40, 41, 42),
    "wind quintet": (73, 68, 71, 60, 70),
    "woodwind quintet": (73, 68, 71, 60, 70),  # flute, oboe, clarinet, horn, bassoon
    "brass quintet": (56, 60, 57, 58),  # trumpets, horn, trombone, tuba
}
# Everyday words that too often mean something else in a sentence ("a lead melody").
AMBIGUOUS_WORDS = frozenset({"lead", "pad", "kit", "keys", "voice"})
_INSTRUMENT_WORDS: dict[str, tuple[int, ...]] = {
    **{
        _normal(word): (program,)
        for word, program in SHORT_NAMES.items()
        if word not in AMBIGUOUS_WORDS
    },
    **{_normal(name): (program,) for program, name in enumerate(GM_NAMES)},
    _normal(DRUMS_NAME): (DRUMS,),
    **{name: (program,) for name, program in MIDICAPS_NAMES.items()},
    **ENSEMBLES,
}
_LONGEST_NAME = max(len(name.split()) for name in _INSTRUMENT_WORDS)


def _instruments(text: str) -> tuple[int, ...]:
    """Instruments named anywhere in the text, longest names first ("electric bass"
    before "bass"), plurals read as singulars, ensembles as their instruments, each
    once, in order of mention."""
    words = _normal(text).split()
    found: list[int] = []
    i = 0
    while i < len(words):
        for length in range(min(_LONGEST_NAME, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + length])
            programs = _INSTRUMENT_WORDS.get(phrase)
            if programs is None and phrase.endswith("s"):
                programs = _INSTRUMENT_WORDS.get(phrase[:-1])
            if programs is not None:
                found += [p for p in programs if p not in found]
                i += length
                break
        else:
            i += 1
    return tuple(found)


_KEY = re.compile(
    r"\b([A-G])\s*(#|♯|b|♭|-sharp|-flat| sharp| flat)?\s+(major|minor)\b", re.IGNORECASE
)
_METER = re.compile(r"\b(\d{1,2})\s*/\s*(1|2|4|8|16|32)\b")
_ITALIAN = re.compile(
    r"\b(" + "|".join([*(w for _, w in TEMPO_WORDS), *MORE_TEMPO_WORDS]) + r")\b", re.IGNORECASE
)
_PLAIN = re.compile(r"\b(very fast|fast|moderate|slow)\b", re.IGNORECASE)


def _key_match(text: str) -> re.Match[str] | None:
    """Where the text names a key: the first "X major/minor" whose X is a tonic."""
    for match in _KEY.finditer(text):
        letter, accidental, _ = match.groups()
        if not (
            letter.islower() and not accidental
        ):  # "a minor key", "in a major way": an article, not a tonic
            return match
    return None


def _key(text: str) -> tuple[str, str]:
    match = _key_match(text)
    if match is None:
        return "", ""
    letter, accidental, mode = match.groups()
    sign = (
        ""
        if not accidental
        else ("#" if accidental.strip("- ").lower() in ("#", "♯", "sharp") else "b")
    )
    return letter.upper() + sign, mode.lower()


def parse_caption(text: str) -> Requested:
    """What a caption asks for: instruments, key and mode, a tempo word, a time signature."""
    key, mode = _key(text)
    meter = _METER.search(text)
    italian = _ITALIAN.search(text)
    plain = _PLAIN.search(text)
    tempo = italian[1].capitalize() if italian else (plain[1].lower() if plain else "")
    return Requested(
        instruments=_instruments(text),
        key=key,
        mode=mode,
        tempo_word=tempo,
        time_signature=f"{int(meter[1])}/{meter[2]}" if meter else "",
    )


# Tonic names by pitch class as the key analysis spells them (music21's choices).
_TONICS = {
    "major": ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"),
    "minor": ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"),
}
_PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def transpose_caption(text: str, semitones: int) -> str:
    """The caption of the same music moved by ``semitones``: its key renamed (spelled as
    the key analysis spells it), everything else as it was."""
    match = _key_match(text)
    if match is None:
        return text
    key, mode = _key(match[0])
    moved = (pitch_class(key) + semitones) % 12
    return f"{text[: match.start()]}{_TONICS[mode][moved]} {match[3]}{text[match.end() :]}"


def pitch_class(name: str) -> int | None:
    """The pitch class a note name spells ("Eb" → 3, "F#" → 6); None for other words."""
    if not 1 <= len(name) <= 2 or name[0] not in _PITCH_CLASSES or name[1:] not in ("", "#", "b"):
        return None
    return (_PITCH_CLASSES[name[0]] + {"#": 1, "b": -1}.get(name[1:], 0)) % 12
