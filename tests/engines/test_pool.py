"""Engines stay open for the life of a process: every way of asking for the same
engine gets the one already loaded."""

from __future__ import annotations

from pathlib import Path

from midicli.engines.pool import open_engine


def test_unset_flags_reuse_the_engine_a_script_opened_without_them(tiny_model_dir: Path) -> None:
    engine = open_engine("transformers", str(tiny_model_dir), device="cpu")
    # The CLI spells out every option, most of them unset.
    again = open_engine(
        "transformers",
        str(tiny_model_dir),
        device="cpu",
        dtype=None,
        adapter=None,
        fp8=False,
        url=None,
    )
    assert again is engine


def test_a_different_setting_opens_another_engine(tiny_model_dir: Path) -> None:
    engine = open_engine("transformers", str(tiny_model_dir), device="cpu")
    assert (
        open_engine("transformers", str(tiny_model_dir), device="cpu", dtype="bfloat16")
        is not engine
    )


def test_an_adapter_tuned_again_under_the_same_name_is_loaded_anew(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """A studio keeps its engine while the user removes an adapter and tunes it again
    under the same name in another terminal: the next request must use the new weights."""
    import shutil

    import torch

    from midicli.engines.models import load_model

    adapter = tmp_path / "adapters" / "mine"  # full weights: the form `tune --full` writes
    tiny = load_model(tiny_model_dir, device="cpu")
    tiny.model.save_pretrained(adapter)
    engine = open_engine("transformers", str(tiny_model_dir), device="cpu", adapter=str(adapter))
    assert (
        open_engine("transformers", str(tiny_model_dir), device="cpu", adapter=str(adapter))
        is engine
    )

    shutil.rmtree(adapter)
    with torch.no_grad():
        tiny.model.lm_head.weight.mul_(2)  # tied: the embeddings move too
    tiny.model.save_pretrained(adapter)
    again = open_engine("transformers", str(tiny_model_dir), device="cpu", adapter=str(adapter))
    assert again is not engine
    assert torch.equal(again.loaded.model.lm_head.weight, tiny.model.lm_head.weight)
