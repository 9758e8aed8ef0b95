"""Finding the project a command works on, once per invocation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from midicli import plugins
from midicli.cli.output import note
from midicli.project import Project
from midicli.project.config import CONFIG_NAME, ProjectConfig
from midicli.project.project import find_root


@dataclass
class Session:
    """Options of the root command that every sub-command may need."""

    project_dir: Path | None = None
    _project: Project | None = None

    def project(self, create_default: bool = False) -> Project:
        """The project here (walking up like git), or the user's default project.

        Commands that only read pass ``create_default=False`` so that looking around
        outside any project never creates one.
        """
        if self._project is None:
            if self.project_dir is not None:
                self._project = Project.open(self.project_dir)
            else:
                self._project = Project.find(create_default=create_default)
                if self._project.is_default:
                    note(
                        f"Using the default project at {self._project.root} (no midicli.toml here "
                        "or above)."
                    )
            for key, known in self._project.config.likely_typos().items():
                note(
                    f"{CONFIG_NAME}: '{key}' is not a midicli setting (kept as it is); did you "
                    f"mean '{known}'?"
                )
        return self._project


def load_config_plugins(project_dir: Path | None) -> list[str]:
    """Plugins listed in the project's midicli.toml load for every command run in it,
    once the user trusts them; returns the files skipped as untrusted."""
    root = project_dir.expanduser().resolve() if project_dir is not None else find_root()
    if root is None or not (root / CONFIG_NAME).is_file():
        return []
    return plugins.load_project_plugins(root, ProjectConfig.load(root / CONFIG_NAME).plugins)


session = Session()
