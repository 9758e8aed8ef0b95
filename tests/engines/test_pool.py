"""Engines stay open for the life of a process: every way of asking for the same
engine gets the one already loaded."""

from __future__ import annotations

from pathlib import Path

from midicli.engines.pool import open_engine


def test_unset_flags_reuse_the_engine_a_script_opened_without_them(tiny_model_dir: Path) -> None:
    engine = open_engine("transformers", str(tiny_model_dir), device="cpu")
    # The CLI spells out every option, most of them unset.
    again = open_engine("transformers", str(tiny_model_dir), device="cpu", dtype=None, adapter=None, fp8=False, url=None)
    assert again is engine


def test_a_different_setting_opens_another_engine(tiny_model_dir: Path) -> None:
    engine = open_engine("transformers", str(tiny_model_dir), device="cpu")
    assert open_engine("transformers", str(tiny_model_dir), device="cpu", dtype="bfloat16") is not engine
