"""Preference tuning: the user's judgements between versions become DPO training
pairs, and ``tune`` turns them into an adapter the engines can load.

Recording (``preferences``) and the datasets need no extra packages; training imports
trl and peft (the ``train`` extra) only when it runs.
"""

from __future__ import annotations

from midicli.errors import MidicliError

NO_ADAPTER = "none"  # what `--adapter none` means, so no adapter may be called that


class TuningError(MidicliError):
    """A judgement that cannot be recorded or a tuning run that cannot start."""
