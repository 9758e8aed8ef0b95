"""The sampling a model is best played with, as its folder recommends.

A model's ``generation_config.json`` may hold ``temperature`` and ``top_p`` (Hugging
Face's own keys) and midicli's ``midicli_key_lean`` and ``midicli_instrument_lean`` (see
``guidance``), ``midicli_best_of`` (candidates drawn per request before ranking) and
``midicli_max_simultaneous`` (the grammar's cap on notes at one instant). The bundled mini
carries values chosen by measurement (MODEL_CARD.md); a model without them, such as
MIDI-LLM, samples with the paper's settings (temperature 1.0, top-p 0.98), no lean,
and draws as many candidates as it shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from midicli import defaults

GENERATION_CONFIG = "generation_config.json"


@dataclass(frozen=True)
class ModelSettings:
    temperature: float = defaults.TEMPERATURE
    top_p: float = defaults.TOP_P
    key_lean: float = 0.0
    instrument_lean: float = 0.0
    best_of: int = defaults.BEST_OF
    max_simultaneous: int = defaults.MAX_ONSETS_PER_INSTANT


def model_settings(model_id: str) -> ModelSettings:
    """What ``model_id``'s folder recommends; the paper's defaults where it says nothing."""
    from midicli.engines.models import offline_copy  # torch: only once a model is in play

    folder = offline_copy(model_id)
    path = folder / GENERATION_CONFIG if folder is not None else None
    if path is None or not path.is_file():
        return ModelSettings()
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ModelSettings()
    chosen = ModelSettings()
    return ModelSettings(
        temperature=float(config.get("temperature", chosen.temperature)),
        top_p=float(config.get("top_p", chosen.top_p)),
        key_lean=float(config.get("midicli_key_lean", chosen.key_lean)),
        instrument_lean=float(config.get("midicli_instrument_lean", chosen.instrument_lean)),
        best_of=int(config.get("midicli_best_of", chosen.best_of)),
        max_simultaneous=int(config.get("midicli_max_simultaneous", chosen.max_simultaneous)),
    )
