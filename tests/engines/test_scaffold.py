"""A developer makes random-weight models in the MIDI-LLM layout to test and time midicli."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import LlamaForCausalLM

from midicli import defaults
from midicli.engines.models import TEXT_VOCAB_KEY, LoadedModel, model_hash
from midicli.engines.scaffold import scaffold_config, scaffold_model
from midicli.project.files import FILE_MODE
from midicli.tokenizers.vocab import MUSIC_VOCAB_SIZE


def test_tiny_scaffold_loads_with_music_ids_after_the_text_ids(
    tiny_model: LoadedModel, tiny_model_dir: Path
) -> None:
    config = tiny_model.model.config
    assert tiny_model.text_vocab_size == getattr(config, TEXT_VOCAB_KEY) == 1024
    assert tiny_model.vocab_size == 1024 + MUSIC_VOCAB_SIZE
    assert isinstance(tiny_model.model, LlamaForCausalLM)
    assert config.tie_word_embeddings
    assert sum(p.stat().st_size for p in tiny_model_dir.iterdir()) < 10_000_000

    ids = tiny_model.tokenizer("A calm waltz for solo piano ").input_ids
    assert ids[0] == tiny_model.tokenizer.bos_token_id == config.bos_token_id
    assert max(ids) < len(tiny_model.tokenizer) <= tiny_model.text_vocab_size
    assert tiny_model.eos_id == config.eos_token_id
    assert (
        tiny_model.tokenizer.decode(ids, skip_special_tokens=True) == "A calm waltz for solo piano "
    )


def test_the_seed_decides_the_weights(tmp_path: Path, tiny_model_dir: Path) -> None:
    again = scaffold_model(tmp_path / "again", "tiny", seed=0)
    other = scaffold_model(tmp_path / "other", "tiny", seed=1)
    assert model_hash(again) == model_hash(tiny_model_dir)
    assert model_hash(other) != model_hash(tiny_model_dir)


def test_1b_scaffold_has_the_shape_of_llama_3_2_1b() -> None:
    config = scaffold_config("1b")
    assert (config.hidden_size, config.num_hidden_layers, config.intermediate_size) == (
        2048,
        16,
        8192,
    )
    assert (config.num_attention_heads, config.num_key_value_heads) == (32, 8)
    assert config.vocab_size == defaults.MIDI_LLM_VOCAB_SIZE
    assert getattr(config, TEXT_VOCAB_KEY) == defaults.MIDI_LLM_TEXT_VOCAB_SIZE
    assert config.rope_parameters["rope_type"] == "llama3"
    assert config.tie_word_embeddings

    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    parameters = sum(p.numel() for p in model.parameters())  # tied head counted once
    assert 1.2e9 < parameters < 1.5e9


def test_an_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="tiny, 1b"):
        scaffold_config("huge")  # type: ignore[arg-type]


def test_a_scaffold_is_readable_as_the_umask_says(tiny_model_dir: Path) -> None:
    assert {p.name: p.stat().st_mode & 0o777 for p in tiny_model_dir.iterdir()} == {
        p.name: FILE_MODE for p in tiny_model_dir.iterdir()
    }
