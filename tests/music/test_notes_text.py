"""A user reads and edits pieces as plain text: every real piece survives the trip to
text and back, an edited line changes exactly that note, and bad lines are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import FIXTURE_MIDIS

from midicli.music.meter import Meter
from midicli.music.midi_io import midi_bytes, read_midi
from midicli.music.notes_text import (
    NotesTextError,
    from_text,
    keep_exact,
    parse_pitch,
    pitch_name,
    to_text,
)
from midicli.music.piece import Note, Piece, TempoChange, TimeSignature


def quantized(notes: list[Note]) -> list[tuple[float, float, int, int, int]]:
    """Notes as the text holds them: times to the millisecond."""
    return [
        (round(n.onset, 3), round(n.duration, 3), n.pitch, n.instrument, n.velocity)
        for n in sorted(notes, key=lambda n: n.onset)
    ]


@pytest.mark.parametrize("midi", FIXTURE_MIDIS, ids=lambda p: p.stem)
def test_every_fixture_piece_survives_text_in_seconds(midi: Path) -> None:
    piece = read_midi(midi)
    back = from_text(to_text(piece), Meter.of(piece))
    assert quantized(back.notes) == quantized(piece.notes)
    assert [(round(t.time, 6), round(t.bpm, 6)) for t in back.tempos] == [
        (round(t.time, 6), round(t.bpm, 6)) for t in piece.tempos
    ]
    assert [(s.numerator, s.denominator) for s in back.time_signatures] == [
        (s.numerator, s.denominator) for s in piece.time_signatures
    ]


@pytest.mark.parametrize("midi", FIXTURE_MIDIS, ids=lambda p: p.stem)
def test_every_fixture_piece_survives_text_in_bars_and_beats(midi: Path) -> None:
    piece = read_midi(midi)
    text = to_text(piece, "bars")
    back = from_text(text)  # the text carries its own tempo map and meter
    assert to_text(back, "bars") == text
    original = sorted(piece.notes, key=lambda n: n.onset)
    assert [(n.pitch, n.instrument, n.velocity) for n in back.notes] == [
        (n.pitch, n.instrument, n.velocity) for n in original
    ]
    assert (
        max(
            abs(a.onset - b.onset) + abs(a.duration - b.duration)
            for a, b in zip(back.notes, original)
        )
        < 0.002
    )


@pytest.mark.parametrize("midi", FIXTURE_MIDIS, ids=lambda p: p.stem)
@pytest.mark.parametrize("time", ["seconds", "bars"])
def test_changing_one_pitch_changes_exactly_that_note(midi: Path, time: str) -> None:
    piece = read_midi(midi_bytes(read_midi(midi)))  # as a project stores it
    written = to_text(piece, time)
    lines = written.splitlines()
    index = next(
        i
        for i, line in enumerate(lines)
        if line.strip() and not line.startswith(("#", "tempo", "meter"))
    )
    old = lines[index].split()[-2]
    new = "C2" if old != "C2" else "D2"
    lines[index] = lines[index].replace(f" {old} ", f" {new} ")
    grid = Meter.of(piece)
    edited = keep_exact(from_text("\n".join(lines), grid), piece, from_text(written, grid))

    before = sorted(piece.notes, key=lambda n: n.onset)
    changed = [(a, b) for a, b in zip(before, edited.notes) if a != b]
    assert len(edited.notes) == len(before)
    assert [(a.pitch, b.pitch) for a, b in changed] == [(parse_pitch(old), parse_pitch(new))]
    assert [(a.onset, a.duration, a.instrument, a.velocity) for a, _ in changed] == [
        (b.onset, b.duration, b.instrument, b.velocity) for _, b in changed
    ]
    assert (edited.tempos, edited.time_signatures) == (piece.tempos, piece.time_signatures)
    assert read_midi(midi_bytes(edited)).notes[:5] != []  # still a writable piece


def test_a_hand_written_file_reads_as_the_musician_means_it() -> None:
    text = """
    # a little tune
    tempo 90
    meter 3/4
    0      0.5    piano          C4    80
    1:2    0:1    Cello          G2    64   # beat 2 of bar 1, one beat long
    2:1    1:0    drums          36    100
    0.5    0.25   Electric Guitar (clean)  F#4  70
    """
    piece = from_text(text)
    beat = 60 / 90
    assert [(n.pitch, n.instrument, n.velocity) for n in piece.notes] == [
        (60, 0, 80),
        (66, 27, 70),
        (43, 42, 64),
        (36, 128, 100),
    ]
    cello, drum = piece.notes[2], piece.notes[3]
    assert cello.onset == pytest.approx(beat) and cello.duration == pytest.approx(beat)
    assert drum.onset == pytest.approx(3 * beat) and drum.duration == pytest.approx(3 * beat)
    assert piece.tempos == [TempoChange(0.0, 90.0)] and piece.time_signatures == [
        TimeSignature(0.0, 3, 4)
    ]


@pytest.mark.parametrize(
    ("pitch", "name"), [(60, "C4"), (61, "C#4"), (0, "C-1"), (127, "G9"), (34, "A#1")]
)
def test_pitch_names_round_trip(pitch: int, name: str) -> None:
    assert pitch_name(pitch) == name and parse_pitch(name) == pitch
    assert parse_pitch("Bb1") == 34 and parse_pitch("60") == 60


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("0.0  0.5  Pianoo  C4  80", "unknown instrument 'Pianoo'"),
        ("0.0  -0.5  piano  C4  80", "must not be negative"),
        ("this is not a note", "cannot read the onset"),
        ("0.0  0.5", "expected onset, duration, instrument, pitch and velocity"),
        ("0.0  0.5  piano  H4  80", "cannot read the pitch 'H4'"),
        ("0.0  0.5  piano  C4  0", "velocity"),
        ("0.0  0.5  piano  G10  80", "outside MIDI's range"),
        ("0:3  0.5  piano  C4  80", "count from 1"),
        ("meter 3/5", "a meter is N/D"),
        ("tempo fast", "a tempo is beats per minute"),
    ],
)
def test_a_bad_line_is_named_with_its_reason(line: str, reason: str) -> None:
    text = f"tempo 120\n0.0  1.0  piano  C4  80\n{line}\n"
    with pytest.raises(NotesTextError) as caught:
        from_text(text)
    [error] = caught.value.errors
    assert error.number == 3 and reason in error.reason
    assert str(caught.value).startswith("line 3: ") and line.strip() in str(caught.value)


def test_every_bad_line_is_reported_at_once() -> None:
    with pytest.raises(NotesTextError) as caught:
        from_text(
            "0 1 piano C4 80\nnonsense\n0 1 banjoo C4 80\n0 -1 piano C4 80\n", source="tune.notes"
        )
    assert [e.number for e in caught.value.errors] == [2, 3, 4]
    assert str(caught.value).startswith("tune.notes line 2:") and "(and 2 more bad lines)" in str(
        caught.value
    )


def test_text_without_notes_is_refused() -> None:
    with pytest.raises(NotesTextError, match="no notes"):
        from_text("# only a comment\ntempo 100\n")


def test_the_text_is_readable_and_aligned() -> None:
    piece = Piece(
        [Note(0.0, 0.48, 60, 0, 72), Note(1.25, 0.5, 43, 42, 64), Note(1.5, 0.1, 36, 128, 100)]
    )
    lines = [
        line for line in to_text(piece, title="tune@1").splitlines() if not line.startswith("#")
    ]
    assert lines == [
        "    0.000     0.480  Acoustic Grand Piano     C4      72",
        "    1.250     0.500  Cello                    G2      64",
        "    1.500     0.100  Drums                    C2     100",
    ]
    assert "estimated" in to_text(piece)  # bar:beat times would use an estimated tempo: said so
