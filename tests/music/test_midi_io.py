"""A user imports MIDI files from anywhere and exports pieces their DAW opens."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import mido
import pytest
from support import AMT_FIXTURES, FIXTURE_MIDIS

from midicli.errors import BadMidiError
from midicli.music.midi_io import midi_bytes, read_midi, write_midi
from midicli.music.piece import Note, Piece, TempoChange, TimeSignature

ORIGINALS = FIXTURE_MIDIS
TPB = 96  # ticks per beat in hand-built files: one beat is 0.5 s at 120 bpm


def smf(*tracks: bytes, kind: int = 1) -> bytes:
    """A standard MIDI file from raw track bodies (so tests can use running status)."""
    header = b"MThd" + struct.pack(">IHHH", 6, kind, len(tracks), TPB)
    return header + b"".join(
        b"MTrk" + struct.pack(">I", len(t) + 4) + t + b"\x00\xff\x2f\x00" for t in tracks
    )


def build(*tracks: list[mido.Message | mido.MetaMessage], kind: int = 1) -> bytes:
    midi = mido.MidiFile(type=kind, ticks_per_beat=TPB)
    midi.tracks.extend(mido.MidiTrack(track) for track in tracks)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def on(pitch: int, time: int = 0, channel: int = 0, velocity: int = 100) -> mido.Message:
    return mido.Message("note_on", note=pitch, velocity=velocity, time=time, channel=channel)


def off(pitch: int, time: int = 0, channel: int = 0) -> mido.Message:
    return mido.Message("note_off", note=pitch, time=time, channel=channel)


def program(number: int, channel: int = 0, time: int = 0) -> mido.Message:
    return mido.Message("program_change", program=number, channel=channel, time=time)


def summary(piece: Piece) -> list[tuple[float, float, int, int]]:
    return [(round(n.onset, 3), round(n.duration, 3), n.pitch, n.instrument) for n in piece.notes]


def assert_same_notes(a: Piece, b: Piece) -> None:
    key = lambda n: (n.onset, n.pitch, n.instrument, n.duration)  # noqa: E731
    left, right = sorted(a.notes, key=key), sorted(b.notes, key=key)
    assert len(left) == len(right)
    for x, y in zip(left, right):
        assert (x.pitch, x.instrument, x.velocity) == (y.pitch, y.instrument, y.velocity)
        assert abs(x.onset - y.onset) < 0.01 and abs(x.duration - y.duration) < 0.01


def test_a_type_0_file_reads_in_seconds() -> None:
    data = build([program(40), on(60), off(60, 96), on(62, velocity=80), off(62, 48)], kind=0)
    piece = read_midi(data)
    assert summary(piece) == [(0.0, 0.5, 60, 40), (0.5, 0.25, 62, 40)]
    assert [n.velocity for n in piece.notes] == [100, 80]


def test_running_status_and_velocity_0_note_offs() -> None:
    # one status byte 0x90, then data pairs only; velocity 0 ends a note
    track = bytes([0x00, 0x90, 60, 100, 0x60, 60, 0, 0x00, 64, 90, 0x30, 64, 0])
    piece = read_midi(smf(track))
    assert summary(piece) == [(0.0, 0.5, 60, 0), (0.5, 0.25, 64, 0)]


def test_a_re_struck_note_is_ended_by_the_oldest_release_first() -> None:
    piece = read_midi(build([on(60), on(60, 96), off(60, 96), off(60, 96)]))
    assert summary(piece) == [(0.0, 1.0, 60, 0), (0.5, 1.0, 60, 0)]


def test_a_never_released_note_lasts_a_quarter_second_and_stray_releases_are_ignored() -> None:
    piece = read_midi(build([off(50), on(60), on(62, 96), off(62, 96)]))
    assert summary(piece) == [(0.0, 0.25, 60, 0), (0.5, 0.5, 62, 0)]


def test_notes_keep_the_order_of_their_note_ons_across_tracks() -> None:
    piece = read_midi(build([on(72, 96), off(72, 96)], [on(48), off(48, 96), on(50), off(50, 96)]))
    assert [n.pitch for n in piece.notes] == [48, 72, 50]


def test_a_tempo_change_moves_later_notes_in_seconds_and_is_kept() -> None:
    conductor = [
        mido.MetaMessage("set_tempo", tempo=500_000),
        mido.MetaMessage("time_signature", numerator=3, denominator=4),
        mido.MetaMessage("set_tempo", tempo=1_000_000, time=192),
    ]
    piece = read_midi(build(conductor, [on(60, 288), off(60, 96)]))
    assert summary(piece) == [(2.0, 1.0, 60, 0)]
    assert piece.tempos == [TempoChange(0.0, 120.0), TempoChange(1.0, 60.0)]
    assert piece.time_signatures == [TimeSignature(0.0, 3, 4)]


def test_channel_10_is_drums_whatever_its_program() -> None:
    piece = read_midi(
        build(
            [program(5, channel=9), on(36, channel=9), off(36, 48, channel=9), on(60), off(60, 48)]
        )
    )
    assert [(n.pitch, n.instrument, n.is_drum) for n in piece.notes] == [
        (36, 128, True),
        (60, 0, False),
    ]


def test_a_program_change_mid_file_changes_the_instrument_of_later_notes() -> None:
    piece = read_midi(build([program(0), on(60), off(60, 96), program(40), on(60), off(60, 96)]))
    assert [n.instrument for n in piece.notes] == [0, 40]


def test_a_file_without_notes_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "silence.mid"
    path.write_bytes(build([program(3), mido.MetaMessage("text", text="hi")]))
    with pytest.raises(BadMidiError, match="^silence.mid has no notes$"):
        read_midi(path)


def test_a_text_file_is_not_a_midi_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("C D E F G\n")
    with pytest.raises(BadMidiError, match="notes.txt is not a readable MIDI file") as caught:
        read_midi(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.97])
def test_a_truncated_file_is_refused(keep: float) -> None:
    data = build([on(60), off(60, 96)] * 20)
    with pytest.raises(BadMidiError, match="^cut.mid is truncated"):
        read_midi(data[: int(len(data) * keep)], name="cut.mid")


def test_type_2_files_and_missing_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BadMidiError, match="type-2"):
        read_midi(build([on(60), off(60, 96)], kind=2))
    with pytest.raises(BadMidiError, match="no such file"):
        read_midi(tmp_path / "gone.mid")


def test_written_files_have_a_conductor_and_one_named_track_per_instrument() -> None:
    notes = [Note(0.0, 0.5, 60, 0, 90), Note(0.0, 0.1, 36, 128, 110), Note(0.5, 0.5, 45, 33, 70)]
    piece = Piece(notes, [TempoChange(0.0, 90.0)], [TimeSignature(0.0, 6, 8)])
    midi = mido.MidiFile(file=io.BytesIO(midi_bytes(piece)))
    assert midi.type == 1 and len(midi.tracks) == 4
    conductor = [m.type for m in midi.tracks[0]]
    assert "set_tempo" in conductor and "time_signature" in conductor
    names = [next(m.name for m in track if m.type == "track_name") for track in midi.tracks[1:]]
    assert names == ["Acoustic Grand Piano", "Drums", "Electric Bass (finger)"]
    channels = [{m.channel for m in track if not m.is_meta} for track in midi.tracks[1:]]
    assert channels == [{0}, {9}, {1}]
    assert_same_notes(read_midi(midi_bytes(piece)), piece)


def test_a_piece_without_tempo_or_meter_declares_none_and_plays_at_midis_default() -> None:
    data = midi_bytes(Piece([Note(1.0, 1.0, 60)]))
    midi = mido.MidiFile(file=io.BytesIO(data))
    assert not [m for m in midi.tracks[0] if m.type in ("set_tempo", "time_signature")]
    again = read_midi(data)
    assert again.tempos == [] and again.time_signatures == []
    assert again.notes[0].onset == pytest.approx(1.0, abs=0.002)  # MIDI's implied 120 bpm


def test_more_than_15_instruments_share_channels_with_program_changes() -> None:
    notes = [Note(i * 0.5, 0.4, 60, program) for i, program in enumerate(range(0, 40, 2))]
    piece = Piece(notes)
    midi = mido.MidiFile(file=io.BytesIO(midi_bytes(piece)))
    assert all(m.channel != 9 for track in midi.tracks for m in track if not m.is_meta)
    assert_same_notes(read_midi(midi_bytes(piece)), piece)


def _grid(notes: list[Note]) -> list[tuple[int, int, int, int, int]]:
    """Notes on the 10 ms grid the tokens use, in a canonical order."""
    return sorted(
        (round(n.onset * 100), round(n.duration * 100), n.pitch, n.instrument, n.velocity)
        for n in notes
    )


def test_twenty_instruments_sounding_together_round_trip_every_note_exactly() -> None:
    """An ensemble of 20 instruments (more than MIDI's 15 melodic channels), each holding
    long notes across the others' entries, plus drums: every note reads back exactly."""
    programs = [0, 4, 11, 19, 24, 33, 40, 41, 42, 43, 56, 57, 60, 65, 68, 71, 73, 74, 79, 88]
    notes = []
    for i, program in enumerate(programs):
        notes += [
            Note(0.01 * i, 9.6, 48 + i, program, 60 + i),
            Note(2.0 + 0.37 * i, 0.25, 60 + i % 5, program, 90),
        ]
        notes += [
            Note(97.37 - 0.1 * i, 9.6, 72, program, 70)
        ]  # the same pitch in every instrument at once
    notes += [Note(0.5 * k, 0.1, 36 + k % 3, 128, 100) for k in range(40)]
    piece = Piece(sorted(notes, key=lambda n: n.onset))
    again = read_midi(midi_bytes(piece))
    assert _grid(again.notes) == _grid(piece.notes)


def test_same_pitch_notes_inside_one_another_round_trip_exactly() -> None:
    """A long note with a short re-strike of its pitch inside it: a reader ends the oldest
    note first, so the writer keeps the two on separate channels."""
    piece = Piece(
        [
            Note(0.0, 10.0, 60, 0),
            Note(1.0, 1.0, 60, 0),
            Note(1.5, 0.25, 60, 0),
            Note(3.0, 9.0, 60, 0),
            Note(4.0, 0.5, 60, 0),
            Note(0.0, 10.0, 64, 71),
            Note(0.0, 2.0, 64, 71),
        ]
    )
    assert _grid(read_midi(midi_bytes(piece)).notes) == _grid(piece.notes)


def test_re_struck_and_zero_length_notes_survive_a_round_trip() -> None:
    piece = Piece([Note(0.0, 1.0, 60), Note(0.5, 1.0, 60), Note(1.5, 0.0, 60), Note(1.5, 0.5, 60)])
    assert_same_notes(read_midi(midi_bytes(piece)), piece)


def test_a_tempo_map_survives_a_round_trip() -> None:
    piece = Piece(
        [Note(0.3, 0.2, 60), Note(1.7, 2.0, 62), Note(4.01, 0.05, 64)],
        [TempoChange(0.0, 72.0), TempoChange(1.5, 140.0), TempoChange(3.0, 40.0)],
        [TimeSignature(0.0, 3, 4)],
    )
    again = read_midi(midi_bytes(piece))
    assert_same_notes(again, piece)
    assert [(round(t.time, 3), round(t.bpm, 3)) for t in again.tempos] == [
        (0.0, 72.0),
        (1.5, 140.0),
        (3.0, 40.0),
    ]


def test_writing_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "out.mid"
    path.write_bytes(b"old")
    write_midi(Piece([Note(0.0, 1.0, 60)]), path)
    assert [p.name for p in tmp_path.iterdir()] == ["out.mid"]
    assert summary(read_midi(path)) == [(0.0, 1.0, 60, 0)]


def test_the_reference_files_are_present() -> None:
    assert ORIGINALS, f"no reference MIDI files in {AMT_FIXTURES}"


@pytest.mark.parametrize("path", ORIGINALS, ids=lambda p: p.stem)
def test_reference_files_survive_write_and_read(path: Path, tmp_path: Path) -> None:
    piece = read_midi(path)
    write_midi(piece, tmp_path / path.name)
    again = read_midi(tmp_path / path.name)
    assert_same_notes(again, piece)
    assert len(again.tempos) == len(piece.tempos)
    assert len(again.time_signatures) == len(piece.time_signatures)


@pytest.mark.parametrize("path", ORIGINALS, ids=lambda p: p.stem)
def test_a_cut_reference_file_is_refused_on_one_line(path: Path) -> None:
    with pytest.raises(BadMidiError, match=f"^{path.stem}.mid is truncated") as caught:
        read_midi(path.read_bytes()[: len(path.read_bytes()) // 2], name=path.name)
    assert "\n" not in str(caught.value)


def _header(data: bytes, tracks: int | None = None, ticks: int | None = None) -> bytes:
    kind, count, division = struct.unpack(">HHh", data[8:14])
    return (
        data[:8]
        + struct.pack(
            ">HHh", kind, count if tracks is None else tracks, division if ticks is None else ticks
        )
        + data[14:]
    )


def test_a_header_claiming_65535_tracks_over_one_reads_the_one() -> None:
    data = build([program(40), on(60), off(60, TPB), on(62), off(62, TPB)], kind=0)
    piece = read_midi(_header(data, tracks=65535))
    assert summary(piece) == [(0.0, 0.5, 60, 40), (0.5, 0.5, 62, 40)]


@pytest.mark.parametrize(("ticks", "words"), [(0, "0 ticks per beat"), (-7000, "SMPTE")])
def test_a_header_without_usable_ticks_per_beat_is_refused(ticks: int, words: str) -> None:
    with pytest.raises(BadMidiError, match=f"song.mid is not a readable MIDI file .*{words}"):
        read_midi(_header(build([on(60), off(60, TPB)]), ticks=ticks), name="song.mid")


def test_a_tempo_of_zero_and_a_meter_of_zero_beats_are_ignored() -> None:
    tempo = mido.MetaMessage("set_tempo", tempo=0)
    meter = mido.MetaMessage("time_signature", numerator=0, denominator=4)
    piece = read_midi(build([tempo, meter, on(60), off(60, TPB)]))
    assert len(piece.notes) == 1 and piece.tempos == [] and piece.time_signatures == []
