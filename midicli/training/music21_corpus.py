"""Works from the corpus that music21 installs, rendered to MIDI.

The corpus (Bach chorales, Palestrina, Monteverdi madrigals, folk-tune collections,
string quartets…) carries almost no instrument information, so each collection
names General MIDI ensembles its music sounds right on; a work gets one of them
(picked by its name, so a rebuild renders it the same) except for parts that name a
real instrument (``Violin I``, ``Viola``). Each collection also gives the genre words
its captions add, and says what its encoders allow.
"""

from __future__ import annotations

import copy
import hashlib
import re
import tempfile
from dataclasses import dataclass
from functools import cache
from itertools import chain, zip_longest
from pathlib import Path
from typing import Any

from midicli.errors import MidicliError, first_line
from midicli.music.instruments import UnknownInstrumentError, parse_instrument
from midicli.music.midi_io import read_midi
from midicli.music.piece import Piece
from midicli.training import TrainingError

CHOIR, ORGAN, PIANO, STRINGS, VOICE = 52, 19, 0, 48, 53
STRING_QUARTET = (40, 40, 41, 42)
WIND_QUARTET = (73, 68, 71, 70)  # flute, oboe, clarinet, bassoon
FIDDLE, FLUTE, WHISTLE, ACCORDION, RECORDER, CLARINET, BAGPIPE, VIOLIN = (
    110,
    73,
    78,
    21,
    74,
    71,
    109,
    40,
)


@dataclass(frozen=True)
class Collection:
    """A folder of music21's corpus and how to render and describe its music."""

    name: str  # the corpus folder
    title: str
    genre_words: tuple[str, ...]
    ensembles: tuple[tuple[int, ...], ...]  # GM programs from the top part down; the last repeats
    rights: str  # what the encoders allow, from the files' own notes


_FREE = "public domain, no terms noted"
COLLECTIONS: dict[str, Collection] = {
    c.name: c
    for c in (
        Collection(
            "bach",
            "Bach chorales",
            ("baroque chorale",),
            ((CHOIR,), (ORGAN,), (PIANO,), STRING_QUARTET, WIND_QUARTET),
            _FREE,
        ),
        Collection(
            "palestrina",
            "Palestrina masses and motets",
            ("sacred renaissance",),
            ((CHOIR,), (ORGAN,), (STRINGS,)),
            "© John Miller encodings, Humdrum licence",
        ),
        Collection(
            "monteverdi",
            "Monteverdi madrigals",
            ("renaissance madrigal",),
            ((CHOIR,), (VOICE,), (VIOLIN, VIOLIN, 41, 41, 42)),
            _FREE,
        ),
        Collection(
            "trecento",
            "Italian trecento songs",
            ("medieval",),
            ((RECORDER, 41, 42), (VOICE,), (CHOIR,)),
            "encodings marked ©",
        ),
        Collection(
            "essenFolksong",
            "Essen folk songs",
            ("folk",),
            ((FLUTE,), (PIANO,), (CLARINET,), (ACCORDION,)),
            "non-commercial use only",
        ),
        Collection(
            "oneills1850",
            "O'Neill's Music of Ireland",
            ("Irish folk",),
            ((FIDDLE,), (FLUTE,), (WHISTLE,), (ACCORDION,)),
            _FREE,
        ),
        Collection(
            "ryansMammoth",
            "Ryan's Mammoth Collection",
            ("folk dance",),
            ((FIDDLE,), (VIOLIN,), (FLUTE,), (ACCORDION,)),
            _FREE,
        ),
        Collection(
            "airdsAirs",
            "Aird's Scottish airs",
            ("Scottish folk",),
            ((FIDDLE,), (FLUTE,), (BAGPIPE,)),
            _FREE,
        ),
        Collection(
            "beethoven", "Beethoven string quartets", ("classical",), (STRING_QUARTET,), _FREE
        ),
        Collection("haydn", "Haydn string quartets", ("classical",), (STRING_QUARTET,), _FREE),
        Collection(
            "mozart", "Mozart quartets and a piano sonata", ("classical",), (STRING_QUARTET,), _FREE
        ),
        Collection("joplin", "Joplin's Maple Leaf Rag", ("ragtime",), ((PIANO,),), _FREE),
        Collection("chopin", "a Chopin mazurka", ("romantic",), ((PIANO,),), _FREE),
    )
}

_SUFFIXES = (
    ".mxl",
    ".musicxml",
    ".xml",
    ".krn",
    ".abc",
)  # the first wins when a work comes in several
_VOICES = {
    "soprano",
    "alto",
    "tenor",
    "bass",
    "basso",
    "bassus",
    "canto",
    "cantus",
    "quinto",
    "quintus",
    "sesto",
    "sextus",
    "altus",
    "superius",
    "discantus",
    "contratenor",
    "tenore",
    "voice",
    "vox",
    "triplum",
    "motetus",
}
_ALIASES = {
    "violoncello": 42,
    "violone": 43,
    "cembalo": 6,
    "corno": 60,
    "oboe d'amore": 68,
    "fagotto": 70,
}
_TUNE = re.compile(r"^X:\s*(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Work:
    """One piece of the corpus: a file, or one tune of an ABC file holding many."""

    collection: str
    path: Path
    number: int | None = None  # the tune's X: number in a many-tune ABC file

    @property
    def name(self) -> str:
        """E.g. ``bach/bwv66.6`` or ``oneills1850/0001-0050#12``: unique and stable."""
        return _relative(self.path).with_suffix("").as_posix() + (
            f"#{self.number}" if self.number is not None else ""
        )


def check_collections(names: list[str] | None) -> list[Collection]:
    """The collections named (all when none), or a TrainingError listing the known ones."""
    if not names:
        return list(COLLECTIONS.values())
    unknown = [name for name in names if name not in COLLECTIONS]
    if unknown:
        raise TrainingError(
            f"no music21 collection {', '.join(unknown)}: use one of {', '.join(COLLECTIONS)}"
        )
    return [COLLECTIONS[name] for name in dict.fromkeys(names)]


def works(collections: list[str] | None = None, limit: int | None = None) -> list[Work]:
    """The works of the collections, taken in turn from each (so a small ``limit``
    still mixes them), each collection in the order of its file names."""
    if limit is not None and limit < 1:
        raise TrainingError(f"--limit must be at least 1, got {limit}")
    listed = [_collection_works(c.name) for c in check_collections(collections)]
    mixed = [w for w in chain.from_iterable(zip_longest(*listed)) if w is not None]
    return mixed[:limit]


def render(work: Work) -> Piece:
    """The work as music21 writes it to MIDI, with its collection's instruments."""
    from music21 import corpus

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "work.mid"
        try:
            score = (
                corpus.parse(work.path, number=work.number)
                if work.number is not None
                else corpus.parse(work.path)
            )
            _orchestrate(score, work)
            _tidy(score)
            score.write("midi", fp=path)
        except Exception as e:  # music21 raises many kinds on files it cannot read or write
            raise TrainingError(f"music21 cannot render {work.name}: {first_line(e)}") from None
        try:
            return read_midi(path, name=work.name)
        except MidicliError as e:
            raise TrainingError(str(e)) from None


def _orchestrate(score: Any, work: Work) -> None:
    """Each part's instruments replaced by one with the GM program it should sound on."""
    from music21 import instrument

    parts = list(getattr(score, "parts", ())) or [score]
    for part, program in zip(parts, _programs(work, [p.partName for p in parts])):
        for old in list(part.recurse().getElementsByClass(instrument.Instrument)):
            part.remove(old, recurse=True)
        sound = instrument.Instrument()
        sound.midiProgram = program
        part.insert(0, sound)


def _tidy(score: Any) -> None:
    """What music21's MIDI writer trips over, removed: repeat marks (it expands them,
    and fails on badly formed ones; the music is then played once through) and a meter
    or key object shared by two measures (some ABC tunes)."""
    from music21 import bar, key, meter, repeat, spanner, stream, tempo

    for measure in score.recurse().getElementsByClass(stream.Measure):
        if isinstance(measure.leftBarline, bar.Repeat):
            measure.leftBarline = None
        if isinstance(measure.rightBarline, bar.Repeat):
            measure.rightBarline = None
    for mark in list(
        score.recurse().getElementsByClass((repeat.RepeatExpression, spanner.RepeatBracket))
    ):
        mark.activeSite.remove(mark)
    for bracket in list(score.spannerBundle.getByClass(spanner.RepeatBracket)):
        score.spannerBundle.remove(bracket)
    seen: set[int] = set()
    for context in list(
        score.recurse().getElementsByClass(
            (meter.TimeSignature, key.KeySignature, tempo.MetronomeMark)
        )
    ):
        if id(context) in seen:
            context.activeSite.replace(context, copy.deepcopy(context))
        seen.add(id(context))


def _programs(work: Work, part_names: list[str | None]) -> list[int]:
    """A GM program per part: the instrument its name gives, else the ensemble's for its place."""
    ensembles = COLLECTIONS[work.collection].ensembles
    ensemble = ensembles[int(hashlib.sha256(work.name.encode()).hexdigest(), 16) % len(ensembles)]
    return [
        _named_program(name) or ensemble[min(index, len(ensemble) - 1)]
        for index, name in enumerate(part_names)
    ]


def _named_program(name: str | None) -> int | None:
    """The GM program a part's name gives (``Violin I`` → 40), None for voices and others."""
    words = re.sub(r"\b([ivx]+|\d+)\b\.?", " ", (name or "").lower()).split()
    if not words or words[0] in _VOICES:
        return None
    text = " ".join(words)
    if text in _ALIASES:
        return _ALIASES[text]
    try:
        return parse_instrument(text)
    except UnknownInstrumentError:
        return None


@cache
def _corpus() -> tuple[Path, tuple[Path, ...]]:
    """music21's corpus folder and every file it lists."""
    from music21 import common, corpus

    return Path(common.getCorpusFilePath()), tuple(Path(p) for p in corpus.getPaths())


def _relative(path: Path) -> Path:
    """A corpus file's path from the corpus folder (``bach/bwv66.6.mxl``)."""
    return path.relative_to(_corpus()[0])


def _collection_works(name: str) -> list[Work]:
    files: dict[Path, Path] = {}  # one file per work: the preferred format of each stem
    for path in _corpus()[1]:
        relative = _relative(path)
        if (
            relative.parts[0] != name
            or path.suffix not in _SUFFIXES
            or path.name.startswith("test")
        ):
            continue
        stem = relative.with_suffix("")
        if stem not in files or _SUFFIXES.index(path.suffix) < _SUFFIXES.index(files[stem].suffix):
            files[stem] = path
    found: list[Work] = []
    for stem in sorted(files):
        path = files[stem]
        tunes = _tunes(path) if path.suffix == ".abc" else []
        found += (
            [Work(name, path, number) for number in tunes] if len(tunes) > 1 else [Work(name, path)]
        )
    return found


def _tunes(path: Path) -> list[int]:
    """The X: numbers of an ABC file's tunes, in file order."""
    return [int(n) for n in _TUNE.findall(path.read_text(encoding="utf-8", errors="replace"))]
