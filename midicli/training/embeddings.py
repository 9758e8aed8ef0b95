"""Music-aware starting embeddings for a new model.

AMT spends one vocabulary id on every arrival time, duration and (instrument, pitch)
pair, and a new model starts each of those 55,030 rows as unrelated noise. A small
model trained on a few thousand pieces then never learns that time 1.20 s is next to
1.21 s, or that a fiddle's D4 and a flute's D5 share a pitch class; it copies what came
before instead, and a caption's key ("in D major") has nothing to steer. So the music
rows start as sums of shared parts: a part for the kind of token (time, duration, note,
and their anticipated twins), smooth sinusoidal codes of the time, duration and pitch
height, and one row per instrument and per pitch class. The caption words that name a
pitch class ("D", "Eb") start with that pitch class's row too, so "in the key of D"
already points where D's notes are. Training moves them all from there.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from midicli.music.captions import pitch_class
from midicli.tokenizers.vocab import (
    ADUR_OFFSET,
    ANOTE_OFFSET,
    ATIME_OFFSET,
    DRUMS,
    DUR_OFFSET,
    MAX_DUR,
    MAX_INSTRUMENT,
    MAX_PITCH,
    MAX_TIME,
    MUSIC_VOCAB_SIZE,
    NOTE_OFFSET,
    TIME_OFFSET,
)

_KINDS = ("time", "duration", "note", "control time", "control duration", "control note")


def music_embeddings(
    hidden: int, std: float, generator: torch.Generator, pitch_classes: torch.Tensor
) -> torch.Tensor:
    """The ``MUSIC_VOCAB_SIZE`` × ``hidden`` starting rows (each entry of about ``std``):
    the token's kind, its musical value and a little noise of its own; ``pitch_classes``
    holds the 12 shared pitch-class rows."""

    def noise(rows: int) -> torch.Tensor:
        return torch.randn(rows, hidden, generator=generator)

    def smooth(count: int, shortest: float, longest: float, codes: int = 24) -> torch.Tensor:
        """Rows for the values 0..count-1 that change slowly with the value: sines and
        cosines of periods from ``shortest`` to ``longest``, randomly projected."""
        periods = torch.logspace(math.log10(shortest), math.log10(longest), codes)
        angles = 2 * math.pi * torch.arange(count, dtype=torch.float32)[:, None] / periods
        waves = torch.cat([angles.sin(), angles.cos()], dim=1) / math.sqrt(codes)
        return waves @ noise(2 * codes)

    kind = dict(zip(_KINDS, noise(len(_KINDS)), strict=True))
    times = smooth(MAX_TIME, 4, 4 * MAX_TIME)  # 10 ms steps: from 40 ms to beyond a chunk
    durations = smooth(MAX_DUR, 4, 4 * MAX_DUR)
    by_pitch = pitch_classes.repeat(MAX_PITCH // 12 + 1, 1)[:MAX_PITCH]
    # pitch class weighs most: it is what a key, a chord and a transposition are made of
    pitched = (
        noise(MAX_INSTRUMENT)[:, None]
        + (1.5 * by_pitch + smooth(MAX_PITCH, 12, 4 * MAX_PITCH))[None]
    )
    pitched[DRUMS] = 2 * noise(MAX_PITCH)  # a drum's "pitch" is a sound of its own, not a height
    notes = pitched.reshape(-1, hidden)

    rows = noise(MUSIC_VOCAB_SIZE)  # separators, rest and mode tokens stay plain noise
    for offset, kind_name, values in (
        (TIME_OFFSET, "time", times),
        (DUR_OFFSET, "duration", durations),
        (NOTE_OFFSET, "note", notes),
        (ATIME_OFFSET, "control time", times),
        (ADUR_OFFSET, "control duration", durations),
        (ANOTE_OFFSET, "control note", notes),
    ):
        block = kind[kind_name] + values + 0.5 * noise(len(values))
        rows[offset : offset + len(values)] = block / block.std()
    return rows * std


def note_names(tokenizer: Any) -> dict[int, int]:
    """Text ids that are a word of their own spelling a note name (as a caption spells a
    key: " D", " Eb"), with its pitch class."""
    names = {}
    for piece, token_id in tokenizer.get_vocab().items():
        word = tokenizer.convert_tokens_to_string([piece])
        found = pitch_class(word[1:]) if word.startswith(" ") else None
        if found is not None:
            names[token_id] = found
    return names


def start_music_rows(
    model: torch.nn.Module, tokenizer: Any, text_vocab_size: int, seed: int
) -> None:
    """Give a new model's music rows (tied in and out), and its note-name words, their
    music-aware start."""
    embedding = model.get_input_embeddings().weight
    hidden, std = embedding.shape[1], model.config.initializer_range
    generator = torch.Generator().manual_seed(seed)
    pitch_classes = torch.randn(12, hidden, generator=generator)
    named = torch.randn(hidden, generator=generator)  # what every note name shares
    with torch.no_grad():
        embedding[text_vocab_size : text_vocab_size + MUSIC_VOCAB_SIZE] = music_embeddings(
            hidden, std, generator, pitch_classes
        )
        for token_id, found in note_names(tokenizer).items():
            row = embedding[token_id] / std + named + 1.5 * pitch_classes[found]
            embedding[token_id] = row / row.std() * std
