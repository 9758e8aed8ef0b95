"""Fuzzing the readers: mutated MIDI bytes, token JSON and notes text, seeded.

Every reader must either give a piece (which must then write as MIDI, as `import`
does) or refuse with a MidicliError, the error the CLI prints as one line. Anything
else is a crash; the table counts them, with the first of each kind shown so it can be
replayed (`--seed` and the case number reproduce it exactly).

    .venv/bin/python bench/fuzz.py                      # 12,000 cases (4,000 per reader)
    .venv/bin/python bench/fuzz.py --cases 20000 --seed 7
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from midicli.errors import MidicliError
from midicli.music.midi_io import midi_bytes, read_midi
from midicli.music.notes_text import from_text, to_text
from midicli.music.piece import Note, Piece, TempoChange, TimeSignature
from midicli.tokenizers import amt, token_json
from midicli.tokenizers.amt import AmtTokenizer

NASTY_WORDS = [
    "9" * 400,
    "-1",
    "0",
    "1e5",
    "nan",
    "inf",
    "-0",
    "0:0",
    "99999999999:1",
    "1:99",
    "0:-1",
    "\x00",
    "C#-5",
    "G10",
    "128",
    "127",
    "tempo",
    "meter",
    "0/4",
    "3/0",
    "65/4",
    "at",
    "#",
    "♯",
    "",
    "1.",
    ".5",
    "1:",
    ":1",
    "piano",
    "drums",
    "Bb-1",
    "4294967296",
    "1" * 30 + ".5",
    "\u202e",
    "0:1.5",
    "3/4",
]
NASTY_NUMBERS: list[Any] = [
    -1,
    0,
    9999,
    10000,
    10999,
    11000,
    27511,
    27512,
    27513,
    55024,
    55025,
    55027,
    55030,
    10**400,
    -(10**20),
    1.5,
    float("inf"),
    True,
    None,
    "12",
    [],
    {},
]


@dataclass
class Tally:
    """What one reader did with its cases."""

    cases: int = 0
    read: int = 0
    refused: int = 0
    crashes: Counter[str] = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)  # crash kind -> case that showed it
    seconds: float = 0.0


def seed_pieces(rng: random.Random) -> list[Piece]:
    """Small real pieces to mutate: many instruments and drums, tempo and meter
    changes, re-struck and zero-length notes, a piece past 100 s (token windows)."""
    pieces = []
    for index in range(6):
        notes = []
        for _ in range(rng.randint(3, 40)):
            onset = round(rng.uniform(0, 30 if index < 5 else 150), 2)
            notes.append(
                Note(
                    onset,
                    round(rng.choice([0.0, 0.1, 0.5, 2.0, 9.6]), 2),
                    rng.randint(21, 108),
                    rng.choice([0, 24, 40, 73, 128, rng.randint(0, 127)]),
                    rng.randint(1, 127),
                )
            )
        tempos = [TempoChange(0.0, rng.choice([60.0, 96.0, 140.0]))] + (
            [TempoChange(5.0, 72.0)] if index % 2 else []
        )
        meters = [TimeSignature(0.0, rng.choice([3, 4, 6]), rng.choice([4, 8]))]
        pieces.append(Piece(sorted(notes, key=lambda n: n.onset), tempos, meters))
    return pieces


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One to four byte-level edits, biased toward MIDI's header and chunk lengths."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not out:
            break
        where = (
            rng.randrange(len(out))
            if rng.random() < 0.7
            else rng.choice([4, 7, 9, 10, 11, 12, 13, 18, 21]) % len(out)
        )
        action = rng.randrange(7)
        if action == 0:
            out[where] ^= 1 << rng.randrange(8)
        elif action == 1:
            out[where] = rng.choice(
                [0x00, 0xFF, 0x7F, 0x80, 0x90, 0xF0, 0xF7, 0x2F, rng.randrange(256)]
            )
        elif action == 2:
            out[where:where] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif action == 3:
            del out[where : where + rng.randint(1, 16)]
        elif action == 4:
            out = out[:where]
        elif action == 5:
            out[where:where] = out[max(0, where - 32) : where]
        else:
            out[where : where + 4] = rng.randrange(2**32).to_bytes(4, "big")
    return bytes(out)


def random_midi(rng: random.Random) -> bytes:
    """A well-formed file of random messages: the parser passes it on, so what follows
    (pairing, tempo maps, meters, huge times, odd headers) gets tried."""
    import mido

    kind_of_file = rng.choice([0, 1, 1, 2])
    midi = mido.MidiFile(type=kind_of_file, ticks_per_beat=rng.choice([1, 96, 480, 32767]))
    for _ in range(1 if kind_of_file == 0 else rng.randint(1, 4)):
        track = mido.MidiTrack()
        for _ in range(rng.randint(0, 40)):
            channel, delta = rng.randrange(16), rng.choice([0, 0, 1, 10, 480, 2**28 - 1])
            kind = rng.randrange(8)
            if kind <= 2:
                track.append(
                    mido.Message(
                        "note_on",
                        channel=channel,
                        note=rng.randrange(128),
                        velocity=rng.randrange(128),
                        time=delta,
                    )
                )
            elif kind <= 4:
                track.append(
                    mido.Message("note_off", channel=channel, note=rng.randrange(128), time=delta)
                )
            elif kind == 5:
                track.append(
                    mido.Message(
                        "program_change", channel=channel, program=rng.randrange(128), time=delta
                    )
                )
            elif kind == 6:
                track.append(
                    mido.MetaMessage(
                        "set_tempo", tempo=rng.choice([0, 1, 500000, 2**24 - 1]), time=delta
                    )
                )
            else:
                track.append(
                    mido.MetaMessage(
                        "time_signature",
                        numerator=rng.choice([0, 1, 4, 255]),
                        denominator=rng.choice([1, 2, 4, 2**7, 2**40]),
                        time=delta,
                    )
                )
        midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def mutate_tokens(tokens: list[int], rng: random.Random) -> str:
    """Token JSON with edits to its values, its shape or its text."""
    data: Any = list(tokens)
    action = rng.randrange(7)
    if action == 6 and data:  # a value from another block of the vocabulary: the grammar's job
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(55_030)
    elif action == 0 and data:
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.choice(NASTY_NUMBERS + [rng.randint(-5, 56000)])
    elif action == 1 and data:
        del data[rng.randrange(len(data))]
    elif action == 2:
        start = rng.choice(
            [0, 100.0, -1, float("inf"), float("nan"), 10**400, "0", None, True, 1e300]
        )
        window: Any = (
            {"start": start, "tokens": data}
            if rng.random() < 0.8
            else rng.choice([data, 5, None, "x"])
        )
        data = {"windows": rng.choice([[window], window, 7, "w", None, [window, {}]])}
    elif action == 3:
        data = rng.choice([{}, {"tokens": data}, [data], "text", 3, None, [[[[]]]]])
    text = json.dumps(data)
    if action in (4, 5):
        text = mutate_bytes(text.encode(), rng).decode("utf-8", errors="replace")
    if rng.random() < 0.02:
        text = "[" * rng.randint(1000, 200_000)
    return text


def mutate_notes(text: str, rng: random.Random) -> str:
    """Notes text with words swapped for awkward ones, lines added, dropped or doubled."""
    lines = text.splitlines()
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        index = rng.randrange(len(lines))
        action = rng.randrange(5)
        if action <= 1:
            words = lines[index].split() or [""]
            words[rng.randrange(len(words))] = rng.choice(NASTY_WORDS)
            lines[index] = " ".join(words)
        elif action == 2:
            lines.insert(
                index,
                rng.choice(["tempo", "meter"])
                + " "
                + " ".join(rng.choices(NASTY_WORDS, k=rng.randint(0, 3))),
            )
        elif action == 3:
            del lines[index]
        else:
            lines.insert(index, lines[index])
    result = "\n".join(lines)
    if rng.random() < 0.1:
        result = mutate_bytes(result.encode(), rng).decode("utf-8", errors="replace")
    return result


def _through_midi(piece: Piece) -> None:
    """What `import` does with a piece it read: write it as MIDI."""
    midi_bytes(piece)


def readers(
    pieces: list[Piece],
) -> dict[str, tuple[Callable[[random.Random], Any], Callable[[Any], None]]]:
    """Each reader: (make one mutated case, read it and use the result)."""
    midis = [midi_bytes(p) for p in pieces]
    token_lists = [amt.notes_to_events(p.notes) for p in pieces if p.duration < 99]
    texts = [to_text(p, time) for p in pieces for time in ("seconds", "bars")]
    tokenizer = AmtTokenizer()

    def read_tokens(text: str) -> None:
        _through_midi(
            token_json.to_piece(token_json.parse(text, "fuzz.json"), tokenizer, "fuzz.json")
        )

    return {
        "MIDI bytes": (
            lambda rng: (
                mutate_bytes(rng.choice(midis), rng) if rng.random() < 0.5 else random_midi(rng)
            ),
            lambda data: _through_midi(read_midi(data)),
        ),
        "token JSON": (lambda rng: mutate_tokens(rng.choice(token_lists), rng), read_tokens),
        "notes text": (
            lambda rng: mutate_notes(rng.choice(texts), rng),
            lambda text: _through_midi(from_text(text)),
        ),
    }


def fuzz(cases: int, seed: int = 0) -> dict[str, Tally]:
    """``cases`` cases per reader from ``seed``; case i of a reader is reproducible alone."""
    pieces = seed_pieces(random.Random(seed))
    tallies = {}
    for name, (make, read) in readers(pieces).items():
        tally = Tally()
        began = time.perf_counter()
        for case in range(cases):
            data = make(random.Random(f"{seed}-{name}-{case}"))
            tally.cases += 1
            try:
                read(data)
                tally.read += 1
            except MidicliError:
                tally.refused += 1
            except Exception as error:  # the bug this probe looks for
                kind = f"{type(error).__name__}: {str(error)[:60]}"
                tally.crashes[kind] += 1
                tally.first.setdefault(kind, f"case {case}: {str(data)[:120]!r}")
        tally.seconds = time.perf_counter() - began
        tallies[name] = tally
    return tallies


def print_table(tallies: dict[str, Tally]) -> None:
    header = ["reader", "cases", "read", "refused (one line)", "crashed", "ms/case"]
    rows = [header] + [
        [
            name,
            str(t.cases),
            str(t.read),
            str(t.refused),
            str(sum(t.crashes.values())),
            f"{1000 * t.seconds / max(t.cases, 1):.2f}",
        ]
        for name, t in tallies.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths))
            )
        )
        if index == 0:
            print("  ".join("-" * w for w in widths))
    for name, tally in tallies.items():
        for kind, count in tally.crashes.most_common():
            print(f"\n{name}: {count} × {kind}\n  first {tally.first[kind]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", type=int, default=12_000, help="cases in all, split evenly between the readers"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tallies = fuzz(max(args.cases // 3, 1), args.seed)
    print_table(tallies)
    sys.exit(1 if any(t.crashes for t in tallies.values()) else 0)


if __name__ == "__main__":
    main()
