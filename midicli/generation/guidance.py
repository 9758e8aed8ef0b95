"""Soft leans toward what the caption asks, applied while sampling: its key and its
instruments.

Small models hear "in D major" but seldom play in it (MODEL_CARD.md). The lean adds
``strength × log(profile)`` (centred) to the logit of every pitched note, where the
profile is Krumhansl and Kessler's probe-tone ratings of the asked key: the tonic
triad most, out-of-scale notes least. It is the same profile music21's key estimate
matches, so a modest strength moves the estimate without forbidding any note.
"""

from __future__ import annotations

import math

from midicli.evaluation.metrics import instrument_kind, pitch_class
from midicli.music.captions import parse_caption
from midicli.tokenizers.vocab import MAX_INSTRUMENT

# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


def key_lean(text: str, strength: float) -> tuple[float, ...] | None:
    """Per pitch class (C first) the logit lean toward the key ``text`` names; None
    when it names none or ``strength`` is 0."""
    asked = parse_caption(text)
    if strength <= 0 or not asked.key or not asked.mode:
        return None
    profile = MAJOR_PROFILE if asked.mode == "major" else MINOR_PROFILE
    logs = [math.log(rating) for rating in profile]
    centre = sum(logs) / len(logs)
    tonic = pitch_class(asked.key)
    return tuple(round(strength * (logs[(pc - tonic) % 12] - centre), 4) for pc in range(12))


def instrument_lean(text: str, strength: float) -> tuple[float, ...] | None:
    """Per instrument (0–128), ``-strength`` for those whose kind ``text`` does not name
    (0 for the named ones and their variants, e.g. either acoustic piano); None when it
    names none or ``strength`` is 0. Small models add instruments nobody asked for."""
    named = {instrument_kind(i) for i in parse_caption(text).instruments}
    if strength <= 0 or not named:
        return None
    return tuple(0.0 if instrument_kind(i) in named else -strength for i in range(MAX_INSTRUMENT))
