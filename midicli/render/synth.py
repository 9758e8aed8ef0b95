"""A piece → stereo samples with FluidSynth, in process (no ``fluidsynth`` binary).

Each instrument gets a channel of its own (FluidSynth offers 256), so no program
changes are ever needed; drums play on MIDI channel 10 from the soundfont's
percussion bank 128, as General MIDI players do.
"""

from __future__ import annotations

import contextlib
import io
from collections import defaultdict
from itertools import groupby
from pathlib import Path
from types import ModuleType

import numpy as np

from midicli.music.piece import DRUMS, Piece
from midicli.render.core import RenderError

DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0
CHANNELS = 256
DRUM_BANK = 128
TAIL_SECONDS = 3.0
"""Rendered past the last note's end so releases and reverb can ring out (the
silent part of it is trimmed afterwards)."""


def load_fluidsynth() -> ModuleType:
    """pyfluidsynth with its C library loaded, or a RenderError saying what to install."""
    try:
        # pyfluidsynth prints where it found the library when $CI is set: keep stdout clean
        with contextlib.redirect_stdout(io.StringIO()):
            import fluidsynth
    except ImportError as exc:
        raise RenderError(
            f"audio needs pyfluidsynth and the FluidSynth library ({exc}): "
            "pip install 'midicli[render]' and apt-get install libfluidsynth3"
        ) from None
    return fluidsynth


def channels(instruments: list[int]) -> dict[int, int]:
    """Drums on channel 9; every other instrument its own channel, skipping each
    block's drum slot (FluidSynth treats channels 9, 25, 41, … as percussion)."""
    melodic = (c for c in range(CHANNELS) if c % 16 != DRUM_CHANNEL)
    return {i: DRUM_CHANNEL if i == DRUMS else next(melodic) for i in instruments}


def _events(
    piece: Piece, channel_of: dict[int, int], sample_rate: int
) -> list[tuple[int, int, int, int, int]]:
    """(frame, kind, channel, pitch, velocity) in time order, kind 0 = off before 1 = on,
    so a note repeated at the instant the previous one ends is struck again. A note
    lasts at least one frame: released at its own onset it would never be released."""
    events = []
    for note in piece.notes:
        channel = channel_of[note.instrument]
        velocity = min(max(note.velocity, 1), 127)
        start = round(note.onset * sample_rate)
        events.append((start, 1, channel, note.pitch, velocity))
        events.append((max(start + 1, round(note.end * sample_rate)), 0, channel, note.pitch, 0))
    return sorted(events)


def synthesize(piece: Piece, soundfont: Path, sample_rate: int, gain: float) -> np.ndarray:
    """The piece as float32 samples shaped (frames, 2), from time 0 to the last note's
    end plus ``TAIL_SECONDS``."""
    fluidsynth = load_fluidsynth()
    synth = fluidsynth.Synth(gain=gain, samplerate=float(sample_rate), channels=CHANNELS)
    try:
        synth.setting("synth.dynamic-sample-loading", 1)  # load only the samples this piece plays
        font = synth.sfload(str(soundfont))
        if font < 0:
            raise RenderError(
                f"{soundfont} is not a soundfont FluidSynth can read: give an .sf2 file"
            )
        channel_of = channels(piece.instruments)
        for instrument, channel in channel_of.items():
            bank, program = (DRUM_BANK, 0) if instrument == DRUMS else (0, instrument)
            # a soundfont without this preset plays its first one rather than nothing
            if (
                synth.program_select(channel, font, bank, program) < 0
                and synth.program_select(channel, font, 0, 0) < 0
            ):
                raise RenderError(
                    f"{soundfont} has no General MIDI presets (not even bank 0, program 0)"
                )
        chunks: list[np.ndarray] = []
        done = 0
        sounding: dict[tuple[int, int], int] = defaultdict(int)
        for frame, group in groupby(
            _events(piece, channel_of, sample_rate), key=lambda event: event[0]
        ):
            if frame > done:
                chunks.append(synth.get_samples(frame - done))
                done = frame
            for _, on, channel, pitch, velocity in group:
                key = (channel, pitch)
                if on:
                    sounding[key] += 1
                    synth.noteon(channel, pitch, velocity)
                elif sounding[key] > 0:
                    sounding[key] -= 1
                    if not sounding[key]:  # overlapping notes of one pitch end with the last
                        synth.noteoff(channel, pitch)
        chunks.append(synth.get_samples(round(TAIL_SECONDS * sample_rate)))
    finally:
        synth.delete()
    return (np.concatenate(chunks).astype(np.float32) / 32768.0).reshape(-1, 2)
