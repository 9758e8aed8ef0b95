"""Notation: MusicXML through music21, and PDF engraved by MuseScore or LilyPond.

Generated music carries no tempo or meter, so the tempo is estimated from the onsets
(``music.meter``) and written into the MIDI that music21 reads; its MIDI reader then
quantises to sixteenths and triplets, builds chords and voices, one part per
instrument. The key is estimated from the pitches (Krumhansl-Schmuckler).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from midicli.music.instruments import instrument_name
from midicli.music.meter import Meter
from midicli.music.midi_io import MELODIC_CHANNELS, midi_bytes
from midicli.music.piece import DRUMS, Piece
from midicli.render.core import RenderError

GRID = (4, 3)  # quarter-note divisions to snap to: sixteenths and eighth triplets
MUSESCORE = ("mscore3", "musescore3", "mscore", "musescore", "mscore4portable")
ENGRAVE_SECONDS = 300
ENGRAVER_HINT = (
    "install LilyPond (apt-get install lilypond) or MuseScore (apt-get install musescore3), or "
    "render --to musicxml"
)


def score(piece: Piece, title: str | None = None) -> Any:
    """The piece as a quantised music21 ``Score``: one part per instrument, named
    after it, with a tempo mark, a meter and the estimated key."""
    try:
        from music21 import converter, instrument, key, metadata, stream
    except ImportError:
        raise RenderError("notation needs music21: pip install 'midicli[render]'") from None
    meter = Meter.of(piece)
    timed = Piece(piece.notes, tempos=list(meter.tempos), time_signatures=list(meter.signatures))
    result = converter.parseData(
        midi_bytes(timed), format="midi", quantizePost=True, quarterLengthDivisors=GRID
    )
    programs = {instrument_name(i): i for i in piece.instruments}
    pitched = []
    for part in result.parts:
        name = part.partName or ""
        program = programs.get(name)
        if program is None or program == DRUMS:
            continue  # drums keep music21's percussion part as it read it
        for found in list(part.recurse().getElementsByClass(instrument.Instrument)):
            found.activeSite.remove(found)  # what the reader guessed, sometimes several per part
        named = instrument.Instrument()
        named.instrumentName = named.partName = part.partName = name
        named.midiProgram = program
        # a channel per part: left unset, music21 numbers every instrument object it meets and
        # runs out
        named.midiChannel = MELODIC_CHANNELS[len(pitched) % len(MELODIC_CHANNELS)]
        part.insert(0, named)
        pitched.append(part)
    if pitched:
        estimated = stream.Score(pitched).analyze("key")
        for part in pitched:
            first = part.getElementsByClass(stream.Measure).first() or part
            first.insert(0, key.Key(estimated.tonic, estimated.mode))
    # an empty composer, or music21 credits itself
    result.metadata = metadata.Metadata(movementName=title or "", composer="")
    return result


def render_musicxml(piece: Piece, out_path: Path, **options: Any) -> None:
    """Write the piece as MusicXML (option used: ``title``)."""
    score(piece, options.get("title")).write("musicxml", fp=str(out_path))


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=ENGRAVE_SECONDS, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"{what} took over {ENGRAVE_SECONDS} s; try a shorter piece or render --to musicxml"
        ) from None
    if result.returncode != 0:
        problem = ((result.stderr or result.stdout).strip().splitlines() or ["no message"])[-1]
        raise RenderError(f"{what} failed: {problem}")


def render_pdf(piece: Piece, out_path: Path, **options: Any) -> None:
    """Engrave the MusicXML with MuseScore, else LilyPond (``musicxml2ly``), whichever is
    installed."""
    musescore = next((found for name in MUSESCORE if (found := shutil.which(name))), None)
    lilypond, musicxml2ly = shutil.which("lilypond"), shutil.which("musicxml2ly")
    if musescore is None and not (lilypond and musicxml2ly):
        raise RenderError(f"PDF needs a score engraver: {ENGRAVER_HINT}")
    with tempfile.TemporaryDirectory(prefix="midicli-engrave-") as work:
        xml = Path(work) / "score.musicxml"
        render_musicxml(piece, xml, **options)
        if musescore is not None:
            _run(
                [musescore, "-o", str(out_path), str(xml)],
                "MuseScore",
                env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
            )
            return
        assert lilypond and musicxml2ly
        _run([musicxml2ly, "--output", str(Path(work) / "score.ly"), str(xml)], "musicxml2ly")
        _run(
            [
                lilypond,
                "--pdf",
                "--silent",
                "--output",
                str(Path(work) / "score"),
                str(Path(work) / "score.ly"),
            ],
            "LilyPond",
        )
        shutil.move(Path(work) / "score.pdf", out_path)
