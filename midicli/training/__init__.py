"""Training models in the MIDI-LLM layout: captioned music sequences built from MIDI
files or music21's corpus, supervised next-token training on them (``train``), and
preference training with DPO on the user's recorded judgements (``dpo``) or on the
key lesson (``keys``); every run goes through ``run`` alike.

Building datasets needs only the core packages (music21 for its corpus); training
imports transformers' Trainer, datasets, trl and peft (the ``train`` extra) when it runs.
"""

from __future__ import annotations

from midicli.errors import MidicliError


class TrainingError(MidicliError):
    """A dataset that cannot be built or read, or a training run that cannot start."""
