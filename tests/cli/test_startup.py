"""Commands that list, show or help answer at once: the heavy libraries (torch,
transformers, vLLM, music21) load only when a command needs a model or notation."""

from __future__ import annotations

import subprocess
import sys


def test_the_command_line_starts_without_loading_model_libraries() -> None:
    probe = (
        "import sys, midicli.cli.main; print(sorted(m for m in ('torch', 'transformers', 'vllm', "
        "'music21') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
