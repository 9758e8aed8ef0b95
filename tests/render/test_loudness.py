"""Loudness (ITU-R BS.1770) and the limiter, on signals whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from midicli.render.loudness import integrated_loudness, k_weighting, limit, normalize, trim_tail


def sine(
    hz: float, seconds: float, rate: int, amplitude: float = 1.0, channels: int = 2
) -> np.ndarray:
    wave = amplitude * np.sin(2 * np.pi * hz * np.arange(round(seconds * rate)) / rate)
    return np.repeat(wave[:, None], channels, axis=1).astype(np.float32)


def test_the_k_weighting_filters_at_48_khz_are_the_standards_table() -> None:
    shelf, highpass = k_weighting(48_000)
    assert shelf[0] == pytest.approx(
        (1.53512485958697, -2.69169618940638, 1.19839281085285), abs=1e-10
    )
    assert shelf[1] == pytest.approx((1.0, -1.69065929318241, 0.73248077421585), abs=1e-10)
    assert highpass[0] == (1.0, -2.0, 1.0)
    assert highpass[1] == pytest.approx((1.0, -1.99004745483398, 0.99007225036621), abs=1e-10)


@pytest.mark.parametrize("rate", [44_100, 48_000])
def test_a_full_scale_997_hz_sine_reads_0_lufs_in_stereo_and_minus_3_in_one_channel(
    rate: int,
) -> None:
    both = sine(997, 5, rate)
    one = both.copy()
    one[:, 1] = 0
    assert integrated_loudness(both, rate) == pytest.approx(0.0, abs=0.05)
    assert integrated_loudness(one, rate) == pytest.approx(-3.01, abs=0.05)


def test_low_rumble_counts_less_than_the_same_level_in_the_midrange() -> None:
    assert (
        integrated_loudness(sine(30, 3, 44_100), 44_100)
        < integrated_loudness(sine(1000, 3, 44_100), 44_100) - 5
    )


def test_silence_is_gated_out_and_pure_silence_has_no_loudness() -> None:
    rate = 44_100
    tone = sine(997, 4, rate, amplitude=0.1)
    padded = np.concatenate([tone, np.zeros((rate * 20, 2), np.float32)])
    assert integrated_loudness(padded, rate) == pytest.approx(
        integrated_loudness(tone, rate), abs=0.3
    )
    assert integrated_loudness(np.zeros((rate, 2), np.float32), rate) == -np.inf


def test_normalising_reaches_the_target_and_limits_peaks_instead_of_clipping() -> None:
    rate = 44_100
    quiet = sine(440, 4, rate, amplitude=0.01)
    quiet[rate : rate + 50] *= 20  # a short accent far above the rest
    louder = normalize(quiet, rate, target_lufs=-14.0, ceiling_db=-1.0)
    assert np.abs(louder).max() <= 10 ** (-1 / 20) + 1e-6
    assert integrated_loudness(louder, rate) == pytest.approx(-14.0, abs=0.5)


def test_the_limiter_leaves_audio_under_the_ceiling_untouched() -> None:
    calm = sine(440, 1, 44_100, amplitude=0.5)
    assert limit(calm, 44_100, ceiling=0.9) is calm


def test_trimming_keeps_the_music_and_drops_the_silence_after_it() -> None:
    rate = 8_000
    ringing = np.concatenate(
        [
            sine(440, 1.0, rate),
            sine(440, 0.5, rate, amplitude=0.01),
            np.zeros((rate * 2, 2), np.float32),
        ]
    )
    trimmed = trim_tail(ringing, rate, keep_seconds=0.8)
    assert len(trimmed) == pytest.approx(1.5 * rate, abs=2)
    assert len(trim_tail(np.zeros((rate * 3, 2), np.float32), rate, keep_seconds=2.0)) == 2 * rate
