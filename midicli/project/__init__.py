"""The project store: settings, pieces and their versions, kept safe on disk."""

from midicli.project.config import ProjectConfig, midicli_home
from midicli.project.project import Project
from midicli.project.records import OPERATIONS, NewVersion, PieceSummary, VersionRecord
from midicli.project.refs import Ref, check_name, parse_ref, slugify

__all__ = [
    "OPERATIONS",
    "NewVersion",
    "PieceSummary",
    "Project",
    "ProjectConfig",
    "Ref",
    "VersionRecord",
    "check_name",
    "midicli_home",
    "parse_ref",
    "slugify",
]
