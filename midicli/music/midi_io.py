"""Reading and writing standard MIDI files.

Reading follows the AMT reference exactly (note order, float arithmetic, pairing of
note-offs) so that tokenizing what we read reproduces MIDI-LLM's training data.
Writing makes plain type-1 files that DAWs open: a conductor track, then one named
track per instrument.
"""

from __future__ import annotations

import io
import os
import tempfile
from bisect import bisect_right
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

import mido

from midicli.errors import BadMidiError
from midicli.music.instruments import instrument_name
from midicli.music.piece import Note, Piece, TempoChange, TimeSignature
from midicli.tokenizers.vocab import DRUMS

DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0
MELODIC_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)
UNCLOSED_DURATION = 0.25  # the reference gives notes never released 25 ticks of 10 ms
TICKS_PER_BEAT = 480  # 1 tick ≈ 1 ms at 120 bpm: far finer than the 10 ms tokens
DEFAULT_BPM = 120.0


def read_midi(source: str | Path | bytes, name: str = "") -> Piece:
    """The notes, tempo map and meter of a type 0 or 1 MIDI file (path or bytes).

    Notes keep the order of their note-on messages with all tracks merged in time.
    A note-off (or velocity-0 note-on) ends the oldest open note of the same channel,
    instrument and pitch; a note never ended lasts 0.25 s, as in the reference.
    """
    label = name or ("MIDI data" if isinstance(source, bytes) else Path(source).name)
    midi = _open(source, label)
    if midi.type == 2:
        raise BadMidiError(f"{label} is a type-2 MIDI file (independent patterns); save it as type 0 or 1")

    onsets: list[tuple[float, int, int, int]] = []  # (time, pitch, instrument, velocity)
    ends: list[float | None] = []
    open_notes: dict[tuple[int, int, int], deque[int]] = defaultdict(deque)
    programs: dict[int, int] = defaultdict(int)
    tempos: list[TempoChange] = []
    meters: list[TimeSignature] = []
    time = 0.0
    for msg in midi:  # merged tracks; msg.time is seconds since the previous message
        time += msg.time
        if msg.type == "program_change":
            programs[msg.channel] = msg.program
        elif msg.type in ("note_on", "note_off"):
            instrument = DRUMS if msg.channel == DRUM_CHANNEL else programs[msg.channel]
            key = (msg.channel, instrument, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                open_notes[key].append(len(onsets))
                onsets.append((time, msg.note, instrument, msg.velocity))
                ends.append(None)
            elif open_notes[key]:
                ends[open_notes[key].popleft()] = time
        elif msg.type == "set_tempo":
            tempos.append(TempoChange(time, mido.tempo2bpm(msg.tempo)))
        elif msg.type == "time_signature":
            meters.append(TimeSignature(time, msg.numerator, msg.denominator))

    if not onsets:
        raise BadMidiError(f"{label} has no notes")
    notes = [
        Note(onset, UNCLOSED_DURATION if end is None else end - onset, pitch, instrument, velocity)
        for (onset, pitch, instrument, velocity), end in zip(onsets, ends)
    ]
    return Piece(notes=notes, tempos=tempos, time_signatures=meters)


def _open(source: str | Path | bytes, label: str) -> mido.MidiFile:
    try:
        if isinstance(source, bytes):
            return mido.MidiFile(file=io.BytesIO(source))
        return mido.MidiFile(source)
    except FileNotFoundError:
        raise BadMidiError(f"{label}: no such file") from None
    except EOFError:
        raise BadMidiError(f"{label} is truncated: the MIDI data ends early") from None
    except Exception as error:  # mido's parser raises many kinds on garbage input
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BadMidiError(f"{label} is not a readable MIDI file ({reason})") from None


@dataclass(frozen=True)
class _Clock:
    """Seconds → ticks under a tempo map (tempo changes placed on whole ticks)."""

    seconds: list[float]
    ticks: list[int]
    bpms: list[float]

    @classmethod
    def of(cls, tempos: list[TempoChange]) -> _Clock:
        changes: dict[float, float] = {0.0: DEFAULT_BPM}
        for tempo in sorted(tempos, key=lambda t: t.time):
            changes[max(tempo.time, 0.0)] = tempo.bpm
        seconds = sorted(changes)
        ticks = [0]
        for previous, now in zip(seconds, seconds[1:]):
            ticks.append(ticks[-1] + round((now - previous) * changes[previous] / 60 * TICKS_PER_BEAT))
        return cls(seconds, ticks, [changes[s] for s in seconds])

    def tick(self, time: float) -> int:
        i = max(bisect_right(self.seconds, time) - 1, 0)
        return max(self.ticks[i] + round((time - self.seconds[i]) * self.bpms[i] / 60 * TICKS_PER_BEAT), 0)


# Order of messages sharing a tick: releases first so a re-struck note is not cut,
# then program changes, note-ons, and last the release of a zero-length note.
_RELEASE, _PROGRAM, _PRESS, _ZERO_RELEASE = range(4)


def midi_bytes(piece: Piece) -> bytes:
    """The piece as a type-1 MIDI file: conductor track, then one track per instrument."""
    clock = _Clock.of(piece.tempos)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_conductor(piece, clock))
    instruments = piece.instruments
    channels = _channels(instruments)
    timed: dict[int, list[tuple[int, int, mido.Message]]] = {i: [] for i in instruments}
    for note in piece.notes:
        channel = channels[note.instrument]
        on, off = clock.tick(note.onset), clock.tick(note.end)
        velocity = min(max(note.velocity, 1), 127)
        timed[note.instrument].append((on, _PRESS, mido.Message("note_on", channel=channel, note=note.pitch, velocity=velocity)))
        rank = _RELEASE if off > on else _ZERO_RELEASE
        timed[note.instrument].append((off, rank, mido.Message("note_off", channel=channel, note=note.pitch, velocity=0)))
    for instrument, tick, channel, program in _program_changes(piece.notes, channels, clock):
        timed[instrument].append((tick, _PROGRAM, mido.Message("program_change", channel=channel, program=program)))
    for instrument in instruments:
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=instrument_name(instrument))])
        track.extend(_deltas(timed[instrument]))
        midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def write_midi(piece: Piece, path: Path) -> None:
    """Write the piece atomically: a reader never sees a half-written file."""
    path = Path(path)
    data = midi_bytes(piece)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _conductor(piece: Piece, clock: _Clock) -> mido.MidiTrack:
    """The declared tempo map and meter only: a piece that declares none (generated
    music) is written without them, so MIDI's implied 120 bpm and 4/4 are never read
    back as if the music had said so (``meter`` estimates the tempo instead)."""
    timed: list[tuple[int, int, mido.MetaMessage]] = []
    for tempo in piece.tempos:
        timed.append((clock.tick(tempo.time), 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo.bpm))))
    for meter in piece.time_signatures:
        message = mido.MetaMessage("time_signature", numerator=meter.numerator, denominator=meter.denominator)
        timed.append((clock.tick(meter.time), 0, message))
    return mido.MidiTrack(_deltas(timed))


def _channels(instruments: list[int]) -> dict[int, int]:
    """Drums on channel 9; other instruments in order of appearance, reusing channels past 15."""
    channels: dict[int, int] = {}
    melodic = 0
    for instrument in instruments:
        if instrument == DRUMS:
            channels[instrument] = DRUM_CHANNEL
        else:
            channels[instrument] = MELODIC_CHANNELS[melodic % len(MELODIC_CHANNELS)]
            melodic += 1
    return channels


def _program_changes(notes: list[Note], channels: dict[int, int], clock: _Clock) -> list[tuple[int, int, int, int]]:
    """(instrument, tick, channel, program) wherever a channel must switch program.

    Each channel gets its first program at tick 0; a channel shared by several
    instruments switches again before a note of another instrument.
    """
    changes: list[tuple[int, int, int, int]] = []
    current: dict[int, int] = {}
    for note in sorted(notes, key=lambda n: n.onset):
        channel = channels[note.instrument]
        program = 0 if note.instrument == DRUMS else note.instrument
        if current.get(channel) != program:
            tick = clock.tick(note.onset) if channel in current else 0
            changes.append((note.instrument, tick, channel, program))
            current[channel] = program
    return changes


def _deltas(timed: list[tuple[int, int, mido.Message | mido.MetaMessage]]) -> list[mido.Message | mido.MetaMessage]:
    """Messages at absolute (tick, rank) → messages with delta times, in order."""
    messages = []
    previous = 0
    for tick, _, message in sorted(timed, key=lambda item: item[:2]):
        messages.append(message.copy(time=tick - previous))
        previous = tick
    return messages
