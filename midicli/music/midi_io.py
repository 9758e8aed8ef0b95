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
from midicli.music.piece import DRUMS, Note, Piece, TempoChange, TimeSignature

DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0
MELODIC_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)
UNCLOSED_DURATION = 0.25  # the reference gives notes never released 25 ticks of 10 ms
TICKS_PER_BEAT = 480  # 1 tick ≈ 1 ms at 120 bpm: far finer than the 10 ms tokens
DEFAULT_BPM = 120.0
METER_DENOMINATORS = (1, 2, 4, 8, 16, 32, 64)


def read_midi(source: str | Path | bytes, name: str = "") -> Piece:
    """The notes, tempo map and meter of a type 0 or 1 MIDI file (path or bytes).

    Notes keep the order of their note-on messages with all tracks merged in time.
    A note-off (or velocity-0 note-on) ends the oldest open note of the same channel,
    instrument and pitch; a note never ended lasts 0.25 s, as in the reference.
    """
    label = name or ("MIDI data" if isinstance(source, bytes) else Path(source).name)
    midi = _open(source, label)
    if midi.type == 2:
        raise BadMidiError(
            f"{label} is a type-2 MIDI file (independent patterns); save it as type 0 or 1"
        )

    onsets: list[tuple[float, int, int, int]] = []  # (time, pitch, instrument, velocity)
    ends: list[float | None] = []
    open_notes: dict[tuple[int, int, int], deque[int]] = defaultdict(deque)
    programs: dict[int, int] = defaultdict(int)
    tempos: list[TempoChange] = []
    meters: list[TimeSignature] = []
    time = 0.0
    for msg in _messages(
        midi, label
    ):  # merged tracks; msg.time is seconds since the previous message
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
        elif msg.type == "set_tempo" and msg.tempo > 0:  # a tempo of 0 µs per beat means nothing
            tempos.append(TempoChange(time, mido.tempo2bpm(msg.tempo)))
        elif (
            msg.type == "time_signature"
            and msg.numerator >= 1
            and msg.denominator in METER_DENOMINATORS
        ):
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
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except FileNotFoundError:
        raise BadMidiError(f"{label}: no such file") from None
    except OSError as error:
        raise BadMidiError(f"cannot read {label}: {error.strerror or error}") from None
    try:
        midi = mido.MidiFile(file=io.BytesIO(_with_real_track_count(data)))
    except EOFError:
        raise BadMidiError(f"{label} is truncated: the MIDI data ends early") from None
    except Exception as error:  # mido's parser raises many kinds on garbage input
        raise BadMidiError(f"{label} is not a readable MIDI file ({_reason(error)})") from None
    if midi.ticks_per_beat <= 0:
        what = "0 ticks per beat" if midi.ticks_per_beat == 0 else "SMPTE frames instead of beats"
        raise BadMidiError(f"{label} is not a readable MIDI file (its header gives {what})")
    return midi


def _messages(midi: mido.MidiFile, label: str) -> list[mido.Message | mido.MetaMessage]:
    """All messages, tracks merged, times in seconds; any parser failure is a BadMidiError."""
    try:
        return list(midi)
    except Exception as error:
        raise BadMidiError(f"{label} is not a readable MIDI file ({_reason(error)})") from None


def _with_real_track_count(data: bytes) -> bytes:
    """``data`` with the header's track count lowered to the tracks really there: a
    header may claim 65,535 tracks over one, and the one must still be read."""
    if len(data) < 14 or data[:4] != b"MThd":
        return data  # mido names what is wrong
    offset, found = 8 + int.from_bytes(data[4:8], "big"), 0
    while offset + 8 <= len(data) and data[offset : offset + 4] == b"MTrk":
        offset += 8 + int.from_bytes(data[offset + 4 : offset + 8], "big")
        found += 1
    claimed = int.from_bytes(data[10:12], "big")
    if 0 < found < claimed and offset == len(data):  # whole tracks and nothing else: not a cut file
        return data[:10] + found.to_bytes(2, "big") + data[12:]
    return data


def _reason(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


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
            ticks.append(
                ticks[-1] + round((now - previous) * changes[previous] / 60 * TICKS_PER_BEAT)
            )
        return cls(seconds, ticks, [changes[s] for s in seconds])

    def tick(self, time: float) -> int:
        i = max(bisect_right(self.seconds, time) - 1, 0)
        return max(
            self.ticks[i] + round((time - self.seconds[i]) * self.bpms[i] / 60 * TICKS_PER_BEAT), 0
        )


# Order of messages sharing a tick: releases first so a re-struck note is not cut,
# then note-ons, and last the release of a zero-length note.
_RELEASE, _PRESS, _ZERO_RELEASE = range(3)


@dataclass(frozen=True)
class _Event:
    tick: int
    rank: int
    instrument: int
    channel: int
    message: mido.Message


def midi_bytes(piece: Piece) -> bytes:
    """The piece as a type-1 MIDI file: conductor track, then one track per instrument.

    Every note reads back as it was (``read_midi``), however many instruments and
    overlapping notes: see ``_channels`` and ``_with_programs``.
    """
    clock = _Clock.of(piece.tempos)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_conductor(piece, clock))
    instruments = piece.instruments
    timed = [(clock.tick(note.onset), clock.tick(note.end), note) for note in piece.notes]
    channels = _channels(timed, instruments)
    events: dict[int, list[_Event]] = {i: [] for i in instruments}
    for (on, off, note), channel in zip(timed, channels):
        velocity = min(max(note.velocity, 1), 127)
        press = mido.Message("note_on", channel=channel, note=note.pitch, velocity=velocity)
        release = mido.Message("note_off", channel=channel, note=note.pitch, velocity=0)
        events[note.instrument].append(_Event(on, _PRESS, note.instrument, channel, press))
        events[note.instrument].append(
            _Event(off, _RELEASE if off > on else _ZERO_RELEASE, note.instrument, channel, release)
        )
    for instrument, messages in _with_programs(instruments, events).items():
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=instrument_name(instrument))])
        track.extend(messages)
        midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def _channels(timed: list[tuple[int, int, Note]], instruments: list[int]) -> list[int]:
    """A channel for each note. Drums take channel 9. Each other instrument gets its own
    channel while there are enough; beyond 15 instruments channels are shared (the
    program changes of ``_with_programs`` keep them apart). A note that starts inside a
    longer note of the same instrument and pitch and ends first would have its release
    paired with the longer note (readers end the oldest open note), so it moves to
    another channel of that instrument."""
    first: dict[int, int] = {}
    for instrument in instruments:
        if instrument != DRUMS:
            first[instrument] = MELODIC_CHANNELS[len(first) % len(MELODIC_CHANNELS)]
    layers: dict[int, list[int]] = {i: [c] for i, c in first.items()}
    last_off: dict[
        tuple[int, int], int
    ] = {}  # (channel, instrument·128 + pitch) -> latest release tick
    chosen = [DRUM_CHANNEL] * len(timed)
    spare = len(first)
    for index in sorted(range(len(timed)), key=lambda i: timed[i][0]):
        _, off, note = timed[index]
        if note.instrument == DRUMS:
            continue  # only channel 9 means drums: such nested drum notes cannot be told apart
        key = note.instrument * 128 + note.pitch
        fits = [c for c in layers[note.instrument] if last_off.get((c, key), -1) <= off]
        if not fits:
            used = set(layers[note.instrument])
            free = [c for c in MELODIC_CHANNELS if c not in used]
            if not free:
                fits = [
                    layers[note.instrument][0]
                ]  # 15 notes nested in one another: cannot be kept apart
            else:
                fits = [free[spare % len(free)]]
                spare += 1
                layers[note.instrument].append(fits[0])
        chosen[index] = fits[0]
        last_off[fits[0], key] = max(off, last_off.get((fits[0], key), -1))
    return chosen


def _with_programs(
    instruments: list[int], events: dict[int, list[_Event]]
) -> dict[int, list[mido.Message]]:
    """Each instrument's messages with delta times, plus the program changes a reader needs.

    A reader merges the tracks (by tick, then track order) and takes each note-on's
    and note-off's instrument from its channel's current program. So, walking that
    merged order, a program change goes right before any message whose channel is set
    to another instrument, the very first one of each channel at tick 0."""
    ordered = {i: sorted(events[i], key=lambda e: (e.tick, e.rank)) for i in instruments}
    merged = sorted(
        (
            (e.tick, track, position, e)
            for track, i in enumerate(instruments)
            for position, e in enumerate(ordered[i])
        ),
        key=lambda item: item[:3],
    )
    program: dict[int, int] = {}
    timed: dict[int, list[tuple[int, mido.Message]]] = {i: [] for i in instruments}
    for tick, _, _, event in merged:
        wanted = 0 if event.instrument == DRUMS else event.instrument
        if program.get(event.channel) != wanted:
            change = mido.Message("program_change", channel=event.channel, program=wanted)
            if event.channel in program:
                timed[event.instrument].append((tick, change))
            else:
                timed[event.instrument].insert(0, (0, change))
            program[event.channel] = wanted
        timed[event.instrument].append((tick, event.message))
    return {i: _deltas_in_order(timed[i]) for i in instruments}


def _deltas_in_order(timed: list[tuple[int, mido.Message]]) -> list[mido.Message]:
    messages, previous = [], 0
    for tick, message in timed:
        messages.append(message.copy(time=tick - previous))
        previous = tick
    return messages


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
        timed.append(
            (
                clock.tick(tempo.time),
                0,
                mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo.bpm)),
            )
        )
    for meter in piece.time_signatures:
        message = mido.MetaMessage(
            "time_signature", numerator=meter.numerator, denominator=meter.denominator
        )
        timed.append((clock.tick(meter.time), 0, message))
    return mido.MidiTrack(_deltas(timed))


def _deltas(
    timed: list[tuple[int, int, mido.Message | mido.MetaMessage]],
) -> list[mido.Message | mido.MetaMessage]:
    """Messages at absolute (tick, rank) → messages with delta times, in order."""
    messages = []
    previous = 0
    for tick, _, message in sorted(timed, key=lambda item: item[:2]):
        messages.append(message.copy(time=tick - previous))
        previous = tick
    return messages
