"""Errors a user can hit: the CLI prints their message on one line and exits 2."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """An exception's first line (its type when it has no message): third-party errors
    can span pages, the user gets one line."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class MidicliError(Exception):
    """Base for every error whose message tells the user what to do next."""


class BadMidiError(MidicliError):
    """A file that is not a readable MIDI file, or holds no notes."""


class BadTokensError(MidicliError):
    """A token list that breaks the AMT token grammar."""


class ProjectError(MidicliError):
    """No project, a bad reference, or a name that cannot be used."""


class PluginError(MidicliError):
    """A plugin failed to load or answered a hook wrongly."""


class ModelError(MidicliError):
    """A model that cannot be found, reached or is not in the MIDI-LLM layout."""


class GenerationError(MidicliError):
    """Bad generation parameters (ranges, counts, instruments)."""


class TuningError(MidicliError):
    """A judgement that cannot be recorded or a tuning run that cannot start."""
