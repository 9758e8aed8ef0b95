"""Rendering defaults shared by the library and the CLI (kept free of heavy imports)."""

from __future__ import annotations

FORMAT = "wav"

SAMPLE_RATE = 44_100
GAIN = 0.2
"""FluidSynth's master gain. It only sets the headroom before loudness normalisation:
low enough that dense arrangements do not clip FluidSynth's 16-bit output."""

TARGET_LUFS = -18.0
"""Integrated loudness (ITU-R BS.1770) every audio render is brought to, so candidates
can be compared by ear without one sounding better for being louder."""

PEAK_CEILING_DB = -1.0
"""Sample peaks are limited to this level (dBFS), so normalising never clips."""
