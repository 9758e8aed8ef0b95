"""Pieces to render (a real chorale, small pieces built to sound a certain way) and
a way to listen to what a render wrote."""

from __future__ import annotations

import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import AMT_FIXTURES

from midicli.music.midi_io import read_midi
from midicli.music.piece import Note, Piece
from midicli.render import render_piece
from midicli.render.loudness import integrated_loudness

BASS, FLUTE = 33, 73  # Electric Bass (finger), Flute


def melody(instrument: int, pitches: list[int], step: float = 0.4, start: float = 0.0) -> Piece:
    """One note per ``step`` seconds, each held for most of the step."""
    return Piece(
        [Note(start + i * step, step * 0.9, p, instrument, 96) for i, p in enumerate(pitches)]
    )


@dataclass
class Sound:
    """Decoded samples, shaped (frames, channels), and what an ear would notice."""

    audio: np.ndarray
    rate: int

    @classmethod
    def of_wav(cls, path: Path) -> Sound:
        with wave.open(str(path)) as file:
            frames = np.frombuffer(file.readframes(file.getnframes()), dtype="<i2")
            return cls(
                frames.reshape(-1, file.getnchannels()).astype(np.float64) / 32768,
                file.getframerate(),
            )

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.rate

    @property
    def rms_db(self) -> float:
        return float(20 * np.log10(np.sqrt(np.mean(self.audio**2)) + 1e-12))

    @property
    def peak(self) -> float:
        return float(np.abs(self.audio).max())

    @property
    def loudness(self) -> float:
        return integrated_loudness(self.audio, self.rate)

    @property
    def centroid(self) -> float:
        """The spectral centroid (Hz) of the mono mix: where the energy sits."""
        power = np.abs(np.fft.rfft(self.audio.mean(axis=1))) ** 2
        return float((np.fft.rfftfreq(len(self.audio), 1 / self.rate) * power).sum() / power.sum())


@pytest.fixture
def make_melody() -> Callable[..., Piece]:
    return melody


@pytest.fixture
def hear(tmp_path: Path) -> Callable[..., Sound]:
    """Render a piece to WAV and decode it."""

    def render(piece: Piece, **options: Any) -> Sound:
        out = tmp_path / f"take{len(list(tmp_path.glob('*.wav')))}.wav"
        return Sound.of_wav(render_piece(piece, "wav", out, **options))

    return render


@pytest.fixture
def decode_wav() -> Callable[[Path], Sound]:
    return Sound.of_wav


@pytest.fixture(scope="session")
def chorale() -> Piece:
    """Bach's chorale BWV 66.6 for piano, 22.5 s."""
    return read_midi(AMT_FIXTURES / "bach_bwv66_6.mid")


@pytest.fixture
def duet() -> Piece:
    """A bass line under a flute melody, 3.2 s."""
    bass = melody(BASS, [28, 31, 33, 35, 36, 38, 40, 43])
    flute = melody(FLUTE, [79, 81, 83, 84, 86, 88, 89, 91])
    return Piece(sorted(bass.notes + flute.notes, key=lambda n: n.onset))
