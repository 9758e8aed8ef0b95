"""Mastering rendered audio: trim the silent tail, bring it to a loudness, never clip.

Loudness is ITU-R BS.1770-4 integrated loudness (LUFS): K-weighting, mean square
over 400 ms blocks overlapping by 75 %, an absolute gate at -70 LUFS and a relative
gate 10 LU below the gated mean. Audio is ``(frames, channels)`` floats in [-1, 1].
"""

from __future__ import annotations

import math
from functools import reduce

import numpy as np

# K-weighting as analogue prototypes (the BS.1770 filters, redesigned for any rate)
SHELF_HZ, SHELF_GAIN_DB, SHELF_Q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
SHELF_BAND_EXPONENT = 0.4996667741545416
HIGHPASS_HZ, HIGHPASS_Q = 38.13547087602444, 0.5003270373238773

BLOCK_SECONDS, STEP_SECONDS = 0.4, 0.1
ABSOLUTE_GATE_LUFS, RELATIVE_GATE_LU = -70.0, -10.0
LOUDNESS_OFFSET = -0.691  # makes a 997 Hz sine read the same in LUFS as its level in dBFS
IMPULSE_SECONDS = 0.1  # the K-weighting filters' ringing is below 1e-9 by then
LIMITER_SECONDS = 0.005  # how far around a peak the limiter turns the gain down
SILENCE_DB = -60.0  # below the peak by this much, a tail counts as silent
FADE_SECONDS = 0.01

Biquad = tuple[tuple[float, float, float], tuple[float, float, float]]  # (b0, b1, b2), (1, a1, a2)


def k_weighting(sample_rate: int) -> list[Biquad]:
    """The shelf (the head's effect) then the RLB high-pass, by the bilinear transform;
    at 48 kHz they equal the coefficient table of BS.1770."""
    k = math.tan(math.pi * SHELF_HZ / sample_rate)
    vh = 10 ** (SHELF_GAIN_DB / 20)
    vb = vh**SHELF_BAND_EXPONENT
    a0 = 1 + k / SHELF_Q + k * k
    shelf = (
        (
            (vh + vb * k / SHELF_Q + k * k) / a0,
            2 * (k * k - vh) / a0,
            (vh - vb * k / SHELF_Q + k * k) / a0,
        ),
        (1.0, 2 * (k * k - 1) / a0, (1 - k / SHELF_Q + k * k) / a0),
    )
    k = math.tan(math.pi * HIGHPASS_HZ / sample_rate)
    a0 = 1 + k / HIGHPASS_Q + k * k
    highpass = ((1.0, -2.0, 1.0), (1.0, 2 * (k * k - 1) / a0, (1 - k / HIGHPASS_Q + k * k) / a0))
    return [shelf, highpass]


def _k_weighted(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """K-weighted audio, one channel per row. numpy has no IIR filter, so the filters
    run as their impulse response (it dies out within ``IMPULSE_SECONDS``), convolved
    by overlap-add in blocks small enough to stay fast."""
    taps = 1 << math.ceil(math.log2(IMPULSE_SECONDS * sample_rate))
    size = 16 * taps
    (shelf_b, shelf_a), (highpass_b, highpass_a) = k_weighting(sample_rate)
    b = np.convolve(shelf_b, highpass_b)[::-1]  # one 4th-order filter, in powers of 1/z
    a = np.convolve(shelf_a, highpass_a)[::-1]
    inverse_z = np.exp(-2j * np.pi * np.fft.rfftfreq(size))
    impulse = np.fft.irfft(np.polyval(b, inverse_z) / np.polyval(a, inverse_z))[:taps]
    kernel = np.fft.rfft(impulse, size).astype(np.complex64)
    channels = np.ascontiguousarray(audio.T, dtype=np.float32)
    frames = channels.shape[1]
    hop = size - taps + 1
    weighted = np.zeros((channels.shape[0], frames + size))
    for start in range(0, frames, hop):
        weighted[:, start : start + size] += np.fft.irfft(
            np.fft.rfft(channels[:, start : start + hop], size) * kernel, size
        )
    return weighted[:, :frames]


def _lufs(power: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return LOUDNESS_OFFSET + 10 * np.log10(power)


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """Gated integrated loudness in LUFS; ``-inf`` for silence."""
    weighted = _k_weighted(audio, sample_rate)
    energy = np.concatenate(
        [[0.0], np.cumsum(np.einsum("cn,cn->n", weighted, weighted))]
    )  # summed over channels
    block = min(round(BLOCK_SECONDS * sample_rate), len(audio))  # a shorter clip is one block
    if block == 0:
        return -math.inf
    starts = np.arange(0, len(audio) - block + 1, round(STEP_SECONDS * sample_rate))
    power = (energy[starts + block] - energy[starts]) / block  # stereo channels weigh 1 each
    gated = power[_lufs(power) > ABSOLUTE_GATE_LUFS]
    if not gated.size:
        return -math.inf
    gated = gated[_lufs(gated) > _lufs(gated.mean()) + RELATIVE_GATE_LU]
    return float(_lufs(gated.mean()))


def _frame_peaks(audio: np.ndarray) -> np.ndarray:
    """The largest magnitude of each frame across channels (a reduction over the short
    channel axis is an order of magnitude slower in numpy)."""
    return reduce(np.maximum, (np.abs(channel) for channel in audio.T))


def _sliding_min(values: np.ndarray, radius: int) -> np.ndarray:
    """Minimum over ``[i - radius, i + radius]`` for every i, in linear time (van Herk)."""
    width = 2 * radius + 1
    padded = np.pad(
        values, (radius, radius + (-len(values) - 2 * radius) % width), constant_values=np.inf
    )
    blocks = padded.reshape(-1, width)
    forward = np.minimum.accumulate(blocks, axis=1).ravel()
    backward = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(backward[: len(values)], forward[width - 1 : width - 1 + len(values)])


def limit(audio: np.ndarray, sample_rate: int, ceiling: float) -> np.ndarray:
    """Keep every sample within ±``ceiling`` by turning the gain down smoothly around
    the peaks that exceed it, rather than clipping them.

    The gain each sample needs is held over ``LIMITER_SECONDS`` either side, then
    averaged over the same span: every average only includes gains at most the one
    needed at its centre, so the result never exceeds the ceiling.
    """
    level = _frame_peaks(audio)
    if level.max(initial=0.0) <= ceiling:
        return audio
    needed = np.minimum(1.0, ceiling / np.maximum(level, 1e-12))
    radius = max(1, round(LIMITER_SECONDS * sample_rate))
    held = np.pad(_sliding_min(needed, radius), radius, mode="edge")
    sums = np.concatenate([[0.0], np.cumsum(held)])
    gain = (sums[2 * radius + 1 :] - sums[: -2 * radius - 1]) / (2 * radius + 1)
    return np.clip(
        audio * gain[:, None].astype(audio.dtype), -ceiling, ceiling
    )  # clip: float rounding only


def normalize(
    audio: np.ndarray, sample_rate: int, target_lufs: float, ceiling_db: float
) -> np.ndarray:
    """Scale to ``target_lufs``, limiting peaks to ``ceiling_db`` dBFS (silence stays silent)."""
    loudness = integrated_loudness(audio, sample_rate)
    if not math.isfinite(loudness):
        return audio
    gain = 10 ** ((target_lufs - loudness) / 20)
    return limit(audio * np.float32(gain), sample_rate, 10 ** (ceiling_db / 20))


def trim_tail(audio: np.ndarray, sample_rate: int, keep_seconds: float) -> np.ndarray:
    """Cut the silence after the music: the first ``keep_seconds`` (the piece) stay
    whole; past them, everything after the last sample within ``SILENCE_DB`` of the
    peak goes, ending in a short fade so the cut does not click."""
    level = _frame_peaks(audio)
    keep = min(len(audio), round(keep_seconds * sample_rate))
    audible = np.flatnonzero(level > level.max(initial=0.0) * 10 ** (SILENCE_DB / 20))
    end = max(keep, int(audible[-1]) + 1 if audible.size else 0)
    trimmed = audio[:end].copy()
    fade = min(round(FADE_SECONDS * sample_rate), end - keep)
    if fade > 0:
        trimmed[end - fade :] *= np.linspace(1.0, 0.0, fade, dtype=audio.dtype)[:, None]
    return trimmed
