"""Project settings in ``midicli.toml``, and where the user's own midicli folder lives.

Unknown top-level keys are kept, not rejected: plugins and newer midicli versions may
store their own settings there, and saving must not lose them. They are listed in
``ProjectConfig.extra`` so the CLI can point out a likely typo.
"""

from __future__ import annotations

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

_HEADER = "# midicli project settings. Sampling defaults go in [defaults].\n"
_OPTIONAL_TEXT = ("model", "soundfont", "adapter")


def midicli_home() -> Path:
    """The user's midicli folder: ``$MIDICLI_HOME``, else ``~/.local/share/midicli``."""
    home = os.environ.get(HOME_VARIABLE)
    return Path(home).expanduser() if home else Path.home() / ".local" / "share" / "midicli"


@dataclass
class ProjectConfig:
    """What a project remembers between commands; ``defaults`` holds sampling defaults
    (e.g. ``temperature``, ``top_p``) that command-line options override."""

    model: str | None = None
    engine: str = DEFAULT_ENGINE
    plugins: list[str] = field(default_factory=list)
    soundfont: str | None = None
    adapter: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
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
        if "engine" in data:
            config.engine = _text(data.pop("engine"), "engine", path)
        if "plugins" in data:
            plugins = data.pop("plugins")
            if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
                raise ProjectError(f"{path}: 'plugins' must be a list of module names or file paths (strings)")
            config.plugins = plugins
        if "defaults" in data:
            defaults = data.pop("defaults")
            if not isinstance(defaults, dict):
                raise ProjectError(f"{path}: 'defaults' must be a table: write [defaults] above its keys")
            config.defaults = defaults
        config.extra = data
        return config

    def to_dict(self) -> dict[str, Any]:
        """The TOML document: unset values are left out (TOML has no null)."""
        data: dict[str, Any] = {"model": self.model, "engine": self.engine, "plugins": self.plugins}
        data |= {"soundfont": self.soundfont, "adapter": self.adapter}
        data = {key: value for key, value in data.items() if value is not None}
        return data | self.extra | {"defaults": self.defaults}

    def save(self, path: Path) -> None:
        write_text_atomic(path, _HEADER + tomli_w.dumps(self.to_dict()))


def _text(value: Any, key: str, path: Path) -> str:
    if not isinstance(value, str):
        raise ProjectError(f"{path}: '{key}' must be a string, e.g. {key} = \"...\"")
    return value
