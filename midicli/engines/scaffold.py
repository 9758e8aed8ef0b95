"""Random-weight models in the MIDI-LLM layout, for tests and speed measurements.

A scaffold is a ``LlamaForCausalLM`` whose vocabulary is ``text_vocab_size`` text ids
followed by the 55,030 AMT music ids, plus a small byte-level BPE text tokenizer
trained here on a few sentences of music description. Its weights are noise, but
every code path (loading, prompting, constrained sampling, tuning) runs on it
exactly as on MIDI-LLM.

The text tokenizer knows only a few hundred ids. ``text_vocab_size`` may be larger
(the ``1b`` size uses MIDI-LLM's 128,256): the ids between the tokenizer's size and
``text_vocab_size`` are embedding rows no text maps to, like Llama's reserved
special tokens. Music ids therefore sit exactly where MIDI-LLM has them, and
``config.json`` records the split under ``TEXT_VOCAB_KEY``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from midicli import defaults
from midicli.engines.models import TEXT_VOCAB_KEY, quiet_transformers
from midicli.project.files import apply_umask
from midicli.tokenizers.vocab import MUSIC_VOCAB_SIZE

Size = Literal["tiny", "1b"]

BOS, EOS, PAD = "<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"

_CORPUS = """\
A calm waltz for solo piano in three four time, gentle and slow, in a major key.
An energetic rock song with distorted electric guitar, bass guitar and a loud drum kit.
A sad string quartet: violin, viola and cello play a minor melody with long notes.
Upbeat jazz trio with walking bass, brushed drums and a bright piano solo.
A dreamy ambient piece with soft synth pads, slow chords and a quiet flute.
Fast baroque counterpoint for harpsichord, two voices chasing each other.
A march for brass band with trumpets, trombones, tuba and snare drum, loud and proud.
A tender lullaby sung by a clarinet over a harp, very soft, in a slow tempo.
Funky groove with slap bass, electric piano, tight hi-hat and syncopated rhythm.
Epic orchestral film music: timpani, French horns, choir and strings rising to a climax.
A folk dance for fiddle and accordion, lively, in six eight time.
Minimal electronic loop, repetitive arpeggio, steady kick drum at one hundred twenty beats per minute.
A melancholic nocturne for piano, rubato, with a singing melody in the right hand.
Bossa nova with nylon guitar, soft saxophone and light percussion, relaxed and warm.
A heroic theme in C major for full orchestra, moderate tempo, triumphant ending.
Blues in E with a shuffle rhythm, organ, harmonica and a lazy bass line.
A mysterious piece for celesta and vibraphone, sparse notes, whole tone harmony.
Happy pop song with acoustic guitar strumming, handclaps and a catchy chorus.
A slow chorale for organ, four voices, solemn and peaceful, in D minor.
Latin salsa with piano montuno, congas, timbales, trumpets and a driving bass.
"""  # noqa: E501 - one caption a line: the corpus the tiny tokenizer learns from


@dataclass(frozen=True)
class Shape:
    """A Llama's size; ``text_vocab`` embedding rows for text come before the music ids."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    mlp: int
    text_vocab: int
    max_positions: int = 131_072


SHAPES: dict[str, Shape] = {
    "tiny": Shape(64, 2, 4, 2, 128, 1024),
    "1b": Shape(2048, 16, 32, 8, 8192, defaults.MIDI_LLM_TEXT_VOCAB_SIZE),
}

# Llama 3.2's rotary embedding: theta 500,000 with the "llama3" frequency scaling.
_LLAMA3_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 500_000.0,
    "factor": 32.0,
    "high_freq_factor": 4.0,
    "low_freq_factor": 1.0,
    "original_max_position_embeddings": 8192,
}


def _rope(max_positions: int) -> dict[str, object]:
    """Llama 3's scaled rotary embedding where positions reach past the 8,192 it
    scales from; plain rotary (same theta) for a shorter context."""
    if max_positions > _LLAMA3_ROPE["original_max_position_embeddings"]:
        return dict(_LLAMA3_ROPE)
    return {"rope_type": "default", "rope_theta": _LLAMA3_ROPE["rope_theta"]}


def build_text_tokenizer(
    lines: Iterable[str] | None = None, vocab_size: int = 600
) -> PreTrainedTokenizerFast:
    """A byte-level BPE (like Llama 3's) of at most ``vocab_size`` ids trained on ``lines``
    (default ``_CORPUS``); adds BOS like Llama."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS.splitlines() if lines is None else lines, trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, model_max_length=131_072
    )


def scaffold_config(
    size: Size | Shape, tokenizer: PreTrainedTokenizerFast | None = None
) -> LlamaConfig:
    """The model configuration of a scaffold of ``size`` (a name in ``SHAPES``, or a shape)."""
    if not isinstance(size, Shape) and size not in SHAPES:
        raise ValueError(f"unknown scaffold size {size!r}: use one of {', '.join(SHAPES)}")
    shape = size if isinstance(size, Shape) else SHAPES[size]
    text_vocab = shape.text_vocab
    tokenizer = tokenizer or build_text_tokenizer()
    assert len(tokenizer) <= text_vocab, "the text tokenizer outgrew the text vocabulary"
    return LlamaConfig(
        vocab_size=text_vocab + MUSIC_VOCAB_SIZE,
        hidden_size=shape.hidden,
        intermediate_size=shape.mlp,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        max_position_embeddings=shape.max_positions,
        rms_norm_eps=1e-5,
        rope_parameters=_rope(shape.max_positions),
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype="bfloat16",
        **{TEXT_VOCAB_KEY: text_vocab},
    )


def scaffold_model(directory: Path, size: Size = "tiny", seed: int = 0) -> Path:
    """Write a random-weight model of ``size`` and its tokenizer to ``directory``.

    The same ``seed`` writes the same weights. Weights are stored in bfloat16, which
    halves the files (tiny: about 7 MB; 1b: about 2.7 GB).
    """
    directory = Path(directory)
    tokenizer = build_text_tokenizer()
    config = scaffold_config(size, tokenizer)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM._from_config(config, dtype=torch.bfloat16)
    directory.mkdir(parents=True, exist_ok=True)
    quiet_transformers()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    apply_umask(directory)
    return directory
