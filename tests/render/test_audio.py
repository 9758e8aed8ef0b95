"""Audio: real FluidSynth with the system's General MIDI soundfont, checked the way a
listener would notice (length, level, where the energy sits)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from midicli.music.piece import Piece
from midicli.render import RenderError, defaults, render_piece
from midicli.render.synth import TAIL_SECONDS
from midicli.tokenizers.vocab import DRUMS

CEILING = 10 ** (defaults.PEAK_CEILING_DB / 20)
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def test_a_chorale_sounds_for_as_long_as_the_piece_at_the_target_loudness(chorale, hear) -> None:
    sound = hear(chorale)
    assert sound.rate == defaults.SAMPLE_RATE and sound.audio.shape[1] == 2
    assert chorale.duration <= sound.seconds <= chorale.duration + TAIL_SECONDS
    assert sound.rms_db > -35  # clearly music, not silence
    assert sound.loudness == pytest.approx(defaults.TARGET_LUFS, abs=0.3)
    assert sound.peak <= CEILING + 1e-4


def test_a_bass_line_sounds_lower_than_a_flute_melody(make_melody, hear) -> None:
    bass = hear(make_melody(33, [28, 31, 33, 35, 36, 38, 40, 43]))
    flute = hear(make_melody(73, [79, 81, 83, 84, 86, 88, 89, 91]))
    assert bass.rms_db > -35 and flute.rms_db > -35
    assert bass.centroid < 300 and flute.centroid > 4 * bass.centroid


def test_drums_play_the_percussion_kit_not_a_piano(make_melody, hear) -> None:
    """Key 42 on channel 10 is a closed hi-hat: bright, unlike a piano's low F#."""
    hihat = hear(make_melody(DRUMS, [42] * 8, step=0.25))
    low_piano = hear(make_melody(0, [42] * 8, step=0.25))
    assert hihat.rms_db > -35
    assert hihat.centroid > 3 * low_piano.centroid


def test_the_silent_tail_is_trimmed_but_the_piece_is_never_cut(make_melody, hear) -> None:
    staccato = make_melody(13, [72, 76, 79], step=0.2)  # xylophone: dies away fast
    sound = hear(staccato)
    assert staccato.duration <= sound.seconds < staccato.duration + TAIL_SECONDS - 0.5
    assert np.abs(sound.audio[-10:]).max() < 0.01  # faded out, no click


def test_a_louder_target_is_louder_and_still_never_clips(chorale, hear) -> None:
    loud = hear(chorale, loudness=-8.0)
    assert loud.peak <= CEILING + 1e-4
    assert loud.loudness > defaults.TARGET_LUFS + 6


def test_sample_rate_and_gain_are_honoured(make_melody, hear) -> None:
    sound = hear(make_melody(0, [60, 64, 67]), sample_rate=22_050, gain=0.5)
    assert sound.rate == 22_050
    assert sound.loudness == pytest.approx(defaults.TARGET_LUFS, abs=0.3)


@needs_ffmpeg
def test_flac_holds_exactly_the_samples_of_the_wav(tmp_path: Path, duet: Piece, decode_wav) -> None:
    wav = render_piece(duet, "wav", tmp_path / "duet.wav")
    flac = render_piece(duet, "flac", tmp_path / "duet.flac")
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(flac), "-f", "s16le", "-"],
        capture_output=True,
        check=True,
    )
    samples = np.frombuffer(decoded.stdout, dtype="<i2").reshape(-1, 2)
    assert np.array_equal(samples, np.round(decode_wav(wav).audio * 32768).astype("<i2"))


@needs_ffmpeg
@pytest.mark.parametrize("fmt, magic", [("mp3", (b"ID3", b"\xff\xfb")), ("ogg", (b"OggS",))])
def test_compressed_audio_is_written_through_ffmpeg(
    tmp_path: Path, duet: Piece, fmt: str, magic: tuple[bytes, ...]
) -> None:
    out = render_piece(duet, fmt, tmp_path / f"duet.{fmt}", title="duet")
    data = out.read_bytes()
    assert data.startswith(magic) and len(data) > 10_000


def test_without_ffmpeg_compressed_formats_say_how_to_get_it(
    tmp_path: Path, duet: Piece, monkeypatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(
        RenderError, match=r"mp3 needs ffmpeg: install it \(apt-get install ffmpeg\)"
    ):
        render_piece(duet, "mp3", tmp_path / "duet.mp3")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "options, problem",
    [
        ({"sample_rate": 100}, "--sample-rate"),
        ({"gain": 0}, "--gain"),
        ({"loudness": 3.0}, "--loudness"),
    ],
)
def test_impossible_settings_are_refused(
    tmp_path: Path, duet: Piece, options: dict, problem: str
) -> None:
    with pytest.raises(RenderError, match=problem):
        render_piece(duet, "wav", tmp_path / "duet.wav", **options)
