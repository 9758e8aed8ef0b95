"""Rendering speed on the AMT fixture pieces: seconds of audio per wall-clock second.

Each piece is rendered to WAV the way ``midicli render`` does it (FluidSynth with the
system soundfont, trim, BS.1770 loudness, limiter, 16-bit WAV); the stages are timed
separately, then the piano roll and MusicXML for comparison. Median of ``--repeats``.

    .venv/bin/python bench/render.py
    .venv/bin/python bench/render.py --repeats 1 --only bach_bwv66_6
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from midicli.music.midi_io import read_midi
from midicli.music.piece import Piece
from midicli.render import defaults, render_piece
from midicli.render.audio import write_wav
from midicli.render.loudness import normalize, trim_tail
from midicli.render.soundfont import find_soundfont
from midicli.render.synth import synthesize

FIXTURES = (
    Path(__file__).resolve().parents[1] / "tests" / "data" / "amt"
)  # the AMT reference pieces
RATE = defaults.SAMPLE_RATE


def median_seconds(
    run: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    times = []
    for _ in range(repeats):
        start = clock()
        run()
        times.append(clock() - start)
    return statistics.median(times)


def measure(piece: Piece, soundfont: Path, work: Path, repeats: int) -> dict[str, float]:
    """Seconds per stage, and the seconds of audio they make."""
    raw = synthesize(piece, soundfont, RATE, defaults.GAIN)
    mastered = normalize(
        trim_tail(raw, RATE, piece.duration), RATE, defaults.TARGET_LUFS, defaults.PEAK_CEILING_DB
    )
    return {
        "audio": len(mastered) / RATE,
        "synth": median_seconds(lambda: synthesize(piece, soundfont, RATE, defaults.GAIN), repeats),
        "master": median_seconds(
            lambda: normalize(
                trim_tail(raw, RATE, piece.duration),
                RATE,
                defaults.TARGET_LUFS,
                defaults.PEAK_CEILING_DB,
            ),
            repeats,
        ),
        "encode": median_seconds(lambda: write_wav(mastered, RATE, work / "encode.wav"), repeats),
        "wav": median_seconds(lambda: render_piece(piece, "wav", work / "piece.wav"), repeats),
        # CPU time of this process: rendering is single-threaded, so on an idle machine it
        # equals the wall time, and it stays honest when other work shares the cores
        "wav cpu": median_seconds(
            lambda: render_piece(piece, "wav", work / "piece.wav"), repeats, time.process_time
        ),
        "png": median_seconds(lambda: render_piece(piece, "png", work / "piece.png"), repeats),
        "musicxml": median_seconds(
            lambda: render_piece(piece, "musicxml", work / "piece.musicxml"), repeats
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="one fixture name, e.g. bach_bwv66_6")
    args = parser.parse_args()
    paths = sorted(p for p in FIXTURES.glob("*.mid") if not p.name.endswith(".decoded.mid"))
    paths = [p for p in paths if args.only in (None, p.stem)]
    if not paths:
        raise SystemExit(f"no fixture pieces in {FIXTURES}")
    soundfont = find_soundfont()
    print(f"soundfont: {soundfont}, {RATE} Hz, {os.cpu_count()} CPUs, median of {args.repeats}\n")
    header = [
        "piece",
        "notes",
        "audio s",
        "synth s",
        "master s",
        "encode s",
        "wav s (wall)",
        "wav s (CPU)",
    ]
    header += ["× realtime (wall)", "× realtime (CPU)", "png s", "musicxml s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    total_audio = total_wav = total_cpu = 0.0
    with tempfile.TemporaryDirectory() as work:
        for path in paths:
            piece = read_midi(path)
            row = measure(piece, soundfont, Path(work), args.repeats)
            total_audio, total_wav, total_cpu = (
                total_audio + row["audio"],
                total_wav + row["wav"],
                total_cpu + row["wav cpu"],
            )
            cells = [path.stem, len(piece.notes), f"{row['audio']:.1f}"]
            cells += [f"{row[k]:.2f}" for k in ("synth", "master", "encode", "wav", "wav cpu")]
            cells += [f"{row['audio'] / row['wav']:.0f}", f"{row['audio'] / row['wav cpu']:.0f}"]
            cells += [f"{row['png']:.2f}", f"{row['musicxml']:.2f}"]
            print("| " + " | ".join(str(c) for c in cells) + " |")
    print(
        f"\nall pieces: {total_audio:.1f} s of audio in {total_wav:.2f} s wall "
        f"({total_audio / total_wav:.0f}× realtime), "
        f"{total_cpu:.2f} s CPU ({total_audio / total_cpu:.0f}×)"
    )


if __name__ == "__main__":
    main()
