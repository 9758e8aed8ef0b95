"""Audio renderers: synthesise, trim, normalise loudness, then encode.

WAV is written with the standard library; FLAC, MP3 and Ogg Vorbis go through
ffmpeg, which reads the samples from a pipe (no temporary WAV).
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from midicli.music.piece import Piece
from midicli.render import defaults
from midicli.render.core import RenderError
from midicli.render.loudness import normalize, trim_tail
from midicli.render.soundfont import find_soundfont
from midicli.render.synth import synthesize

# format -> (ffmpeg muxer, encoder, encoder options)
FFMPEG_FORMATS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "flac": ("flac", "flac", ()),
    "mp3": ("mp3", "libmp3lame", ("-q:a", "2")),  # VBR around 190 kbit/s
    "ogg": ("ogg", "libvorbis", ("-q:a", "5")),  # VBR around 160 kbit/s
}
FORMATS = ("wav", *FFMPEG_FORMATS)
MAX_GAIN = 10.0  # FluidSynth's own limit


def master(
    piece: Piece,
    soundfont: str | Path | None = None,
    sample_rate: int = defaults.SAMPLE_RATE,
    gain: float = defaults.GAIN,
    loudness: float = defaults.TARGET_LUFS,
) -> np.ndarray:
    """The piece as finished float32 stereo samples, shaped (frames, 2)."""
    if not 8_000 <= sample_rate <= 192_000:
        raise RenderError(f"--sample-rate must be between 8000 and 192000, got {sample_rate}")
    if not 0 < gain <= MAX_GAIN:
        raise RenderError(f"--gain must be above 0 and at most {MAX_GAIN:g}, got {gain}")
    if not -70 < loudness < 0:
        raise RenderError(
            f"--loudness is in LUFS between -70 and 0 (e.g. {defaults.TARGET_LUFS:g}), got "
            f"{loudness}"
        )
    audio = synthesize(piece, find_soundfont(soundfont), sample_rate, gain)
    audio = trim_tail(audio, sample_rate, piece.duration)
    return normalize(audio, sample_rate, loudness, defaults.PEAK_CEILING_DB)


def _pcm(audio: np.ndarray) -> bytes:
    """Interleaved signed 16-bit little-endian samples."""
    return np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def write_wav(audio: np.ndarray, sample_rate: int, path: Path) -> None:
    with wave.open(str(path), "wb") as file:
        file.setnchannels(audio.shape[1])
        file.setsampwidth(2)
        file.setframerate(sample_rate)
        file.writeframes(_pcm(audio))


def encode(
    audio: np.ndarray, sample_rate: int, path: Path, fmt: str, title: str | None = None
) -> None:
    """Write ``fmt`` (flac, mp3, ogg) with ffmpeg, the samples piped to its input."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RenderError(
            f"{fmt} needs ffmpeg: install it (apt-get install ffmpeg) or render --to wav"
        )
    muxer, encoder, settings = FFMPEG_FORMATS[fmt]
    tags = ("-metadata", f"title={title}") if title else ()
    command = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "s16le", "-ar", str(sample_rate), "-ac", str(audio.shape[1]), "-i", "pipe:0",
        "-c:a", encoder, *settings, *tags, "-f", muxer, str(path),
    ]  # fmt: skip
    result = subprocess.run(command, input=_pcm(audio), capture_output=True, check=False)
    if result.returncode != 0:
        problem = (result.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[
            -1
        ]
        raise RenderError(f"ffmpeg could not write {fmt}: {problem}")


def renderer(fmt: str) -> Callable[..., None]:
    """The renderer for one audio format, as registered with ``register_renderers``."""

    def render(piece: Piece, out_path: Path, **options: Any) -> None:
        def option(name: str, default: Any) -> Any:
            return default if options.get(name) is None else options[name]

        sample_rate = int(option("sample_rate", defaults.SAMPLE_RATE))
        audio = master(
            piece,
            soundfont=options.get("soundfont"),
            sample_rate=sample_rate,
            gain=float(option("gain", defaults.GAIN)),
            loudness=float(option("loudness", defaults.TARGET_LUFS)),
        )
        if fmt == "wav":
            write_wav(audio, sample_rate, Path(out_path))
        else:
            encode(audio, sample_rate, Path(out_path), fmt, options.get("title"))

    render.__doc__ = f"Write the piece as {fmt} audio."
    return render
