"""A new model's music rows start with music's structure: the same pitch class on any
instrument or octave looks alike, and nearby times and durations look alike."""

from __future__ import annotations

from dataclasses import replace

import torch

from midicli.engines.scaffold import SHAPES, build_text_tokenizer, scaffold_config
from midicli.tokenizers.vocab import (
    ANOTE_OFFSET,
    DRUMS,
    DUR_OFFSET,
    MAX_PITCH,
    MUSIC_VOCAB_SIZE,
    NOTE_OFFSET,
    TIME_OFFSET,
)
from midicli.training.embeddings import music_embeddings, note_names, start_music_rows

HIDDEN = 128


def rows(seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return music_embeddings(HIDDEN, 0.02, generator, torch.randn(12, HIDDEN, generator=generator))


def note(instrument: int, pitch: int, offset: int = NOTE_OFFSET) -> int:
    return offset + instrument * MAX_PITCH + pitch


def cosine(table: torch.Tensor, a: int, b: int) -> float:
    return float(torch.nn.functional.cosine_similarity(table[a], table[b], dim=0))


def test_rows_have_the_models_scale_and_the_seed_decides_them() -> None:
    table = rows()
    assert table.shape == (MUSIC_VOCAB_SIZE, HIDDEN)
    assert 0.015 < float(table.std()) < 0.025
    assert torch.equal(table, rows(0))
    assert not torch.equal(table, rows(1))


def test_a_pitch_class_looks_alike_across_instruments_and_octaves() -> None:
    table = rows()
    fiddle, flute = 40, 73
    d4 = note(fiddle, 62)
    for a, b in ((note(flute, 74), note(flute, 68)), (note(fiddle, 74), note(fiddle, 68))):
        # D an octave up (further in height) against G#, the tritone (nearer in height)
        assert cosine(table, d4, a) > cosine(table, d4, b) + 0.2


def test_a_control_note_starts_like_the_note_it_anticipates() -> None:
    table = rows()
    d4 = note(40, 62)
    assert (
        cosine(table, d4, note(40, 62, ANOTE_OFFSET))
        > cosine(table, d4, note(40, 68, ANOTE_OFFSET)) + 0.2
    )


def test_nearby_times_and_durations_look_alike_far_ones_do_not() -> None:
    table = rows()
    for offset, far in ((TIME_OFFSET, range(300, 9000, 700)), (DUR_OFFSET, range(300, 1000, 100))):
        far_away = sum(cosine(table, offset + 100, offset + value) for value in far) / len(far)
        assert cosine(table, offset + 100, offset + 101) > far_away + 0.2


def test_drums_have_no_pitch_classes() -> None:
    table = rows()
    kick, snare = 36, 38
    octave_up = cosine(table, note(DRUMS, kick), note(DRUMS, kick + 12))
    assert octave_up < cosine(table, note(0, kick), note(0, kick + 12)) - 0.2
    assert abs(octave_up - cosine(table, note(DRUMS, kick), note(DRUMS, snare))) < 0.3


def test_note_names_are_the_words_that_spell_a_key() -> None:
    tokenizer = build_text_tokenizer(
        ["Set in the key of Eb major.", "In the key of F# minor.", "A piece in D."] * 20
    )
    names = {
        tokenizer.convert_tokens_to_string([tokenizer.convert_ids_to_tokens(i)]): pc
        for i, pc in note_names(tokenizer).items()
    }
    assert names[" D"] == 2 and names[" F"] == 5
    assert names.get(" Eb", 3) == 3  # a merged "Eb" names E flat; unmerged, " E" names E
    assert all(word.startswith(" ") for word in names)  # not the letters inside other words


def test_a_new_models_tied_rows_get_the_music_start_and_key_names_point_at_their_notes() -> None:
    from transformers import LlamaForCausalLM

    shape = replace(SHAPES["tiny"], hidden=HIDDEN)  # mini's width: room for every part to stand out
    tokenizer = build_text_tokenizer(
        ["Set in the key of D major.", "Set in the key of G minor."] * 20
    )
    model = LlamaForCausalLM._from_config(scaffold_config(shape, tokenizer), dtype=torch.float32)
    weight = model.get_input_embeddings().weight
    text_before = weight[: shape.text_vocab].clone()
    start_music_rows(model, tokenizer, shape.text_vocab, seed=0)
    names = note_names(tokenizer)
    others = [i for i in range(len(tokenizer)) if i not in names]
    assert torch.equal(weight[others], text_before[others])
    assert (
        model.get_output_embeddings().weight.data_ptr() == weight.data_ptr()
    )  # tied: predictions share the structure

    d_word = tokenizer.convert_tokens_to_ids("ĠD")

    def affinity(pitch: int) -> float:  # mean over instruments of the word's cosine with the note
        table = weight.detach()
        notes = table[[shape.text_vocab + note(i, pitch) for i in range(DRUMS)]]
        return float(
            torch.nn.functional.cosine_similarity(notes, table[d_word][None], dim=1).mean()
        )

    assert min(affinity(62), affinity(50)) > max(affinity(68), affinity(63)) + 0.2
