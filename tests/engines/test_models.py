"""A user names a model (preset, hub id or folder) and gets it loaded, or told what is wrong."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from midicli import defaults
from midicli.engines.models import load_model, model_hash, pick_device, pick_dtype, resolve_model
from midicli.errors import ModelError


def test_presets_name_hub_models_and_folders_become_absolute(
    tiny_model_dir: Path, monkeypatch
) -> None:
    assert resolve_model("midi-llm") == defaults.MIDI_LLM_HUB_ID
    assert resolve_model("someone/some-model") == "someone/some-model"
    monkeypatch.chdir(tiny_model_dir.parent)
    assert resolve_model(tiny_model_dir.name) == str(tiny_model_dir.resolve())


def test_a_name_that_is_neither_folder_nor_hub_id_is_refused() -> None:
    with pytest.raises(ModelError, match="no model directory at ./missing/model/dir"):
        resolve_model("./missing/model/dir")


def test_the_tiny_model_loads_on_cpu_in_float32_unless_told_otherwise(
    tiny_model, tiny_model_dir: Path
) -> None:
    assert tiny_model.device == torch.device("cpu")
    assert tiny_model.dtype == next(tiny_model.model.parameters()).dtype == torch.float32
    assert tiny_model.model_id == str(tiny_model_dir)
    assert len(tiny_model.hash) == 12

    half = load_model(tiny_model_dir, device="cpu", dtype="bf16")
    assert next(half.model.parameters()).dtype == torch.bfloat16


def _copy_without(source: Path, target: Path, *names: str) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*names))
    return target


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("config.json", "it has no config.json"),
        ("tokenizer*", "it has no text tokenizer"),
        ("*.safetensors", "no weights"),
    ],
)
def test_a_folder_missing_a_part_of_the_layout_says_which(
    tiny_model_dir, tmp_path, missing, message
) -> None:
    broken = _copy_without(tiny_model_dir, tmp_path / "broken", missing)
    with pytest.raises(ModelError, match=message) as caught:
        load_model(broken)
    assert "\n" not in str(caught.value)


def test_a_model_without_room_for_the_music_vocabulary_is_refused(tiny_model_dir, tmp_path) -> None:
    text_only = _copy_without(tiny_model_dir, tmp_path / "text-only")
    config = json.loads((text_only / "config.json").read_text())
    config["vocab_size"] = 32_000
    del config["midicli_text_vocab_size"]
    (text_only / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ModelError, match="vocabulary has 32,000 ids, fewer than the 55,030 music tokens"
    ):
        load_model(text_only)


def test_an_uncached_hub_model_offline_tells_how_to_get_it(tmp_path) -> None:
    # The only test without a real model: the hub is out of reach, so a made-up id
    # in an empty cache stands for "MIDI-LLM not downloaded yet". The hub reads its
    # environment at import, hence a fresh interpreter.
    code = (
        "from midicli.engines.models import load_model\n"
        "from midicli.errors import ModelError\n"
        "try:\n    load_model('midicli-tests/not-downloaded')\n"
        "except ModelError as e:\n    print(e)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == (
        "cannot download midicli-tests/not-downloaded (no network?): pass --model PATH to a local "
        "copy, "
        "or pre-download it with `hf download midicli-tests/not-downloaded`"
    )


def test_the_hash_follows_the_weights_not_the_folder(tiny_model_dir, tmp_path) -> None:
    copy = _copy_without(tiny_model_dir, tmp_path / "copy")
    assert model_hash(copy) == model_hash(tiny_model_dir)
    config = json.loads((copy / "config.json").read_text())
    config["rms_norm_eps"] = 1e-6
    (copy / "config.json").write_text(json.dumps(config))
    assert model_hash(copy) != model_hash(tiny_model_dir)


def test_a_hub_cache_snapshot_is_hashed_by_its_commit(tiny_model_dir, tmp_path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = _copy_without(tiny_model_dir, tmp_path / "models--a--b" / "snapshots" / commit)
    assert model_hash(snapshot) == commit[:12]


def test_device_and_dtype_choices() -> None:
    assert pick_dtype(None, torch.device("cpu")) == torch.float32
    assert pick_dtype(None, torch.device("cuda")) == torch.bfloat16
    assert pick_dtype("float16", torch.device("cpu")) == torch.float16
    with pytest.raises(ModelError, match="unknown dtype 'int3'"):
        pick_dtype("int3", torch.device("cpu"))
    with pytest.raises(ModelError, match="unknown device"):
        pick_device("abacus")
    if not torch.cuda.is_available():
        assert pick_device(None) in (torch.device("cpu"), torch.device("mps"))
        with pytest.raises(ModelError, match="no CUDA GPU"):
            pick_device("cuda")


def test_a_midi_llm_sized_folder_is_described_as_int8_on_this_cpu_and_mini_as_float32(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from midicli.engines.models import describe_local

    big = tmp_path / "big"
    shutil.copytree(tiny_model_dir, big)
    weights = next(big.glob("*.safetensors"))
    os.truncate(weights, 2_900_000_000)  # sparse: only the size is read, as for MIDI-LLM's 2.9 GB
    mini, large = describe_local("mini", 20.0), describe_local(str(big), 20.0)
    assert (mini.precision, large.precision) == ("float32", "int8 weights, bfloat16")
    assert large.size_bytes == 2_900_000_000 and 0 < large.seconds_per_1000_tokens
    assert describe_local(str(tmp_path / "missing"), 20.0) is None
