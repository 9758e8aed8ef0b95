"""Project settings in ``midicli.toml``, and where the user's own midicli folder lives.

Unknown top-level keys are kept, not rejected: plugins and newer midicli versions may
store their own settings there, and saving must not lose them. They are listed in
``ProjectConfig.extra``; one that looks like a known key misspelt is pointed out
(``likely_typos``), so a ``modle = ...`` does not silently do nothing.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from midicli.errors import ProjectError
from midicli.project.files import write_text_atomic

CONFIG_NAME = "midicli.toml"
DEFAULT_ENGINE = "transformers"
HOME_VARIABLE = "MIDICLI_HOME"

_HEADER = "# midicli project settings.\n"
_OPTIONAL_TEXT = ("model", "soundfont", "adapter")
_OPTIONAL_NUMBERS = {
    "best_of": int,
    "key_lean": float,
    "instrument_lean": float,
}  # generation defaults: the command's options override
KNOWN_KEYS = (*_OPTIONAL_TEXT, *_OPTIONAL_NUMBERS, "engine", "plugins")


def midicli_home() -> Path:
    """The user's midicli folder: ``$MIDICLI_HOME``, else ``~/.local/share/midicli``."""
    home = os.environ.get(HOME_VARIABLE)
    return Path(home).expanduser() if home else Path.home() / ".local" / "share" / "midicli"


@dataclass
class ProjectConfig:
    """What a project remembers between commands."""

    model: str | None = None
    engine: str = DEFAULT_ENGINE
    plugins: list[str] = field(default_factory=list)
    soundfont: str | None = None
    adapter: str | None = None
    best_of: int | None = None  # candidates drawn per request before ranking (else the model's)
    key_lean: float | None = None  # lean toward the caption's key (else the model's)
    instrument_lean: float | None = None  # lean toward the caption's instruments (else the model's)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ProjectConfig:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:  # its message names line and column
            raise ProjectError(f"{path} is not valid TOML: {error}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ProjectError(f"cannot read {path}: {error}") from None
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path) -> ProjectConfig:
        data = dict(data)
        config = cls()
        for key in _OPTIONAL_TEXT:
            if key in data:
                setattr(config, key, _text(data.pop(key), key, path))
        for key, kind in _OPTIONAL_NUMBERS.items():
            if key in data:
                value = data.pop(key)
                if isinstance(value, bool) or not isinstance(
                    value, int if kind is int else (int, float)
                ):
                    raise ProjectError(f"{path}: '{key}' must be a number, e.g. {key} = {kind(2)}")
                setattr(config, key, kind(value))
        if "engine" in data:
            config.engine = _text(data.pop("engine"), "engine", path)
        if "plugins" in data:
            plugins = data.pop("plugins")
            if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
                raise ProjectError(
                    f"{path}: 'plugins' must be a list of module names or file paths (strings)"
                )
            config.plugins = plugins
        config.extra = data
        return config

    def to_dict(self) -> dict[str, Any]:
        """The TOML document: unset values are left out (TOML has no null)."""
        data: dict[str, Any] = {"model": self.model, "engine": self.engine, "plugins": self.plugins}
        data |= {
            "soundfont": self.soundfont,
            "adapter": self.adapter,
            "best_of": self.best_of,
            "key_lean": self.key_lean,
            "instrument_lean": self.instrument_lean,
        }
        data = {key: value for key, value in data.items() if value is not None}
        return data | self.extra

    def likely_typos(self) -> dict[str, str]:
        """Unknown keys that look like a known key misspelt, with the key they resemble."""
        close = {
            key: difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.8) for key in self.extra
        }
        return {key: match[0] for key, match in close.items() if match}

    def save(self, path: Path) -> None:
        write_text_atomic(path, _HEADER + tomli_w.dumps(self.to_dict()))


def _text(value: Any, key: str, path: Path) -> str:
    if not isinstance(value, str):
        raise ProjectError(f"{path}: '{key}' must be a string, e.g. {key} = \"...\"")
    return value
