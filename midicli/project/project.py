"""A project: a folder holding ``midicli.toml``, ``midicli.db`` and ``pieces/NAME/vN.mid``.

Every change writes its files first and commits one database transaction last. The
database is the truth: a file no row points at (left by a process killed before its
commit) is never listed, and is swept away the next time the project is opened.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from midicli.defaults import MODEL_PRESETS
from midicli.errors import ProjectError
from midicli.music.piece import Piece
from midicli.project import taste
from midicli.project.config import CONFIG_NAME, DEFAULT_ENGINE, ProjectConfig, midicli_home
from midicli.project.files import discard, orphans, write_atomic
from midicli.project.records import (
    NAMING_FREE,
    NAMING_NUMBERED,
    OPERATIONS,
    AdapterRecord,
    NewPreference,
    NewVersion,
    PieceSummary,
    PreferenceRecord,
    VersionRecord,
)
from midicli.project.refs import check_name, clean_name, parse_ref
from midicli.project.store import DB_NAME, Store

PIECES_DIR = "pieces"
ADAPTERS_DIR = "adapters"
DEFAULT_PROJECT = "default"


def find_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` holding a ``midicli.toml``, as git finds its
    repository."""
    start = Path(start or Path.cwd()).expanduser().resolve()
    return next(
        (folder for folder in (start, *start.parents) if (folder / CONFIG_NAME).is_file()), None
    )


def default_root() -> Path:
    """Where commands keep pieces when run outside any project."""
    return midicli_home() / DEFAULT_PROJECT


class Project:
    """The library's entry point: find or create a project, then record, look up and
    remove versions of pieces. Use as a context manager, or call ``close``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.config = ProjectConfig.load(self.config_path)
        self._store = Store(self.root / DB_NAME, self.root)
        try:
            self._recover()
        except BaseException:
            self._store.close()
            raise

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def pieces_dir(self) -> Path:
        return self.root / PIECES_DIR

    @property
    def adapters_dir(self) -> Path:
        return self.root / ADAPTERS_DIR

    def inside(self, relative: str | Path, folder: Path, what: str) -> Path:
        """``relative`` (a path the database or config holds) under the project's
        ``folder``, or a ProjectError: a cloned or edited project must not make midicli
        read, write or delete anything outside it (``../victim``, absolute paths, links)."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(folder.resolve()) or path == folder.resolve():
            raise ProjectError(f"{what} points at {relative}, outside {folder}: refusing to use it")
        return path

    def version_file(self, record: VersionRecord, relative: str | None = None) -> Path:
        """A file of a stored version (its MIDI unless ``relative`` is given), checked to lie in
        ``pieces/``."""
        return self.inside(
            relative or record.midi_path, self.pieces_dir, f"the database entry of {record.ref}"
        )

    def adapter_dir(self, record: AdapterRecord) -> Path:
        """An adapter's folder, checked to lie in ``adapters/``."""
        return self.inside(
            record.path, self.adapters_dir, f"the database entry of adapter {record.name}"
        )

    @property
    def is_default(self) -> bool:
        """True for the user's default project (so the CLI can say where pieces went)."""
        return self.root == default_root().resolve()

    # -- finding and creating ------------------------------------------------------

    @classmethod
    def init(cls, root: Path, model: str | None = None, engine: str | None = None) -> Project:
        """Make a new project in ``root`` (created if missing)."""
        root = Path(root).expanduser().resolve()
        if model is not None and model not in MODEL_PRESETS and Path(model).expanduser().is_dir():
            # a folder named relative to here must still be found from inside the project
            model = str(Path(model).expanduser().resolve())
        if (root / CONFIG_NAME).exists():
            raise ProjectError(f"{root} already holds a midicli project ({CONFIG_NAME})")
        try:
            (root / PIECES_DIR).mkdir(parents=True, exist_ok=True)
            Store(root / DB_NAME, root).close()
            # the settings file marks a project, so it comes last
            ProjectConfig(model=model, engine=engine or DEFAULT_ENGINE).save(root / CONFIG_NAME)
        except OSError as error:
            raise ProjectError(f"cannot make a project in {root}: {error}") from None
        return cls(root)

    @classmethod
    def open(cls, root: Path) -> Project:
        """The project in exactly this folder."""
        root = Path(root).expanduser().resolve()
        if not (root / CONFIG_NAME).is_file():
            raise ProjectError(f"no midicli project in {root}: run `midicli init` there first")
        return cls(root)

    @classmethod
    def find(cls, start: Path | None = None, create_default: bool = True) -> Project:
        """The nearest project at or above ``start`` (default: the working folder), as git
        finds its repository; with none, the user's default project, made if needed
        (commands that only look pass ``create_default=False``: looking creates nothing)."""
        found = find_root(start)
        if found is not None:
            return cls(found)
        root = default_root()
        if not (root / CONFIG_NAME).is_file():
            if not create_default:
                raise ProjectError(
                    f"not inside a midicli project (no {CONFIG_NAME} here or above) and no default "
                    f"project at {root} yet: "
                    "run `midicli init` or `midicli import FILE.mid`"
                )
            try:
                cls.init(root).close()
            except ProjectError:
                if not (root / CONFIG_NAME).is_file():  # not just another process first
                    raise
        return cls.open(root)

    def save_config(self) -> None:
        self.config.save(self.config_path)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"

    # -- recording -----------------------------------------------------------------

    def add_versions(self, new: list[NewVersion]) -> list[VersionRecord]:
        """Record all of ``new`` or none of it: files first, then one transaction.

        On any failure the files written so far are removed, leaving the project as it was.
        """
        from midicli.music.midi_io import midi_bytes

        if not new:
            return []
        batch = uuid.uuid4().hex
        created = _now()
        written: list[Path] = []
        made: list[Path] = []
        try:
            with self._store.transaction():
                new = self._named(new)
                numbers = self._numbers(new)
                fields = [
                    self._fields(item, number, batch)
                    for item, number in zip(new, numbers, strict=True)
                ]
                for item, row in zip(new, fields, strict=True):
                    midi = self.inside(
                        row["midi_path"], self.pieces_dir, f"the folder of piece {item.name}"
                    )
                    if not midi.parent.is_dir():
                        made.append(midi.parent)
                        midi.parent.mkdir(parents=True)
                    written.append(midi)
                    write_atomic(midi, midi_bytes(item.piece))
                    if item.tokens is not None:
                        written.append(midi.with_name(Path(row["tokens_path"]).name))
                        write_atomic(written[-1], json.dumps(item.tokens).encode())
                ids = [
                    self._store.insert_version(item.name, number, row, created)
                    for item, number, row in zip(new, numbers, fields, strict=True)
                ]
        except BaseException:
            discard(written + made)
            raise
        return self._store.versions_by_id(ids)

    def _numbers(self, new: list[NewVersion]) -> list[int]:
        """Each new version's number; checked under the write lock, so they are free."""
        last: dict[str, int] = {}
        numbers = []
        for item in new:
            check_name(item.name)
            if item.operation not in OPERATIONS:
                raise ValueError(f"operation must be one of {OPERATIONS}, not {item.operation!r}")
            if item.name not in last:
                stored = self._store.last_number(item.name)
                if stored is not None and item.parent is None:
                    raise ProjectError(
                        f"a piece named '{item.name}' already exists: choose another name or "
                        "remove it first"
                    )
                last[item.name] = stored or 0
            elif item.parent is None:
                raise ProjectError(f"'{item.name}' is given to more than one new piece")
            if item.parent is not None and not self._store.has_version(item.parent.id):
                raise ProjectError(f"{item.parent.ref} was removed meanwhile")
            last[item.name] += 1
            numbers.append(last[item.name])
        return numbers

    def _fields(self, item: NewVersion, number: int, batch: str) -> dict[str, Any]:
        """The version's columns (encoded now, so bad parameters fail before any write)."""
        folder = f"{PIECES_DIR}/{item.name}"
        return {
            "parent_id": item.parent.id if item.parent else None,
            "operation": item.operation,
            "text": item.text,
            "params": json.dumps(item.params, sort_keys=True),
            "seed": item.seed,
            "model": item.model,
            "model_hash": item.model_hash,
            "engine": item.engine,
            "adapter": item.adapter,
            "timings": json.dumps(item.timings, sort_keys=True),
            "manifest": json.dumps(item.manifest, sort_keys=True),
            "midi_path": f"{folder}/v{number}.mid",
            "tokens_path": f"{folder}/v{number}.tokens.json" if item.tokens is not None else None,
            "batch": item.batch or batch,
            "duration": item.piece.duration,
            "notes": len(item.piece.notes),
            "instruments": json.dumps(item.piece.instruments),
        }

    def unique_names(self, base: str, count: int) -> list[str]:
        """``count`` names ``base-1``, ``base-2``, … that no piece has yet (free now:
        to keep one, store with ``naming`` instead, which chooses under the write lock)."""
        return _numbered(base, count, self._store.names())

    def _named(self, new: list[NewVersion]) -> list[NewVersion]:
        """``new`` with every stem turned into a free name; called under the write lock."""
        taken = self._store.names()
        named = []
        for item in new:
            if item.naming == NAMING_FREE and item.name not in taken:
                item = replace(item, naming="exact")
            elif item.naming in (NAMING_FREE, NAMING_NUMBERED):
                item = replace(item, name=_numbered(item.name, 1, taken)[0], naming="exact")
            elif item.naming != "exact":
                raise ValueError(
                    f"naming must be exact, {NAMING_NUMBERED} or {NAMING_FREE}, not {item.naming!r}"
                )
            taken.add(item.name)
            named.append(item)
        return named

    def import_midi(self, path: Path, name: str | None = None) -> VersionRecord:
        """A MIDI file as version 1 of a new piece (see :meth:`import_piece`)."""
        from midicli.music.midi_io import read_midi

        return self.import_piece(read_midi(Path(path)), Path(path), name)

    def import_piece(self, piece: Piece, path: Path, name: str | None = None) -> VersionRecord:
        """``piece``, read from the file ``path``, as version 1 of a new piece. A given
        name must be free; a name made from the file's name gets a ``-N`` suffix when taken."""
        source = {"source": str(path.resolve())}
        if name is None:  # chosen as it is stored, under the write lock
            new = NewVersion(
                name=clean_name(path.stem),
                piece=piece,
                operation="import",
                manifest=source,
                naming=NAMING_FREE,
            )
        else:
            new = NewVersion(name=name, piece=piece, operation="import", manifest=source)
        [record] = self.add_versions([new])
        return record

    # -- looking up ----------------------------------------------------------------

    def resolve(self, ref: str) -> VersionRecord:
        """``NAME`` (latest version) or ``NAME@N``."""
        parsed = parse_ref(ref)
        latest = self._store.latest_number(parsed.name)
        if latest is None:
            raise ProjectError(f"no piece named '{parsed.name}'")
        number = parsed.version or latest
        record = self._store.version(parsed.name, number)
        if record is None:
            raise ProjectError(f"{parsed.name} has no version {number} (latest is {latest})")
        return record

    def history(self, name: str) -> list[VersionRecord]:
        """Every version of a piece, oldest first."""
        versions = self._store.versions_of(check_name(name))
        if not versions:
            raise ProjectError(f"no piece named '{name}'")
        return versions

    def pieces(self) -> list[PieceSummary]:
        """Every piece with its latest version, in the order they were made."""
        return self._store.summaries()

    def siblings(self, record: VersionRecord) -> list[VersionRecord]:
        """The other versions made by the same request (the other candidates)."""
        if record.batch is None:
            return []
        return [other for other in self._store.batch(record.batch) if other.id != record.id]

    def load_piece(self, record: VersionRecord) -> Piece:
        from midicli.music.midi_io import read_midi

        return read_midi(self.version_file(record), name=record.ref)

    def load_tokens(self, record: VersionRecord) -> list[int] | None:
        if record.tokens_path is None:
            return None
        tokens: list[int] = json.loads(
            self.version_file(record, record.tokens_path).read_text(encoding="utf-8")
        )
        return tokens

    # -- removing ------------------------------------------------------------------

    def remove(self, ref: str) -> list[VersionRecord]:
        """Remove one version (``NAME@N``) or a whole piece (``NAME``); returns what went.

        Rows go first, then files: a crash in between leaves orphan files (swept on the
        next open), never a row pointing at a missing file.
        """
        parsed = parse_ref(ref)
        folder = self.inside(
            f"{PIECES_DIR}/{parsed.name}", self.pieces_dir, f"the folder of piece {parsed.name}"
        )
        with self._store.transaction():
            removed = self.history(parsed.name) if parsed.version is None else [self.resolve(ref)]
            if len(removed) == len(self._store.versions_of(parsed.name)):
                self._store.delete_piece(parsed.name)
            else:
                self._store.delete_version(removed[0].id)
        # vN.* also takes renders made next to the version
        discard(
            [path for record in removed for path in folder.glob(f"v{record.number}.*")] + [folder]
        )
        return removed

    # -- taste: preferences, ratings and the adapters tuned on them ------------------

    def add_preferences(self, new: list[NewPreference]) -> list[PreferenceRecord]:
        """Record judgements all together. A pair already recorded is kept once; the
        reversed pair is replaced (the latest judgement wins)."""
        created = _now()
        with self._store.transaction():
            self._check_present([v for item in new for v in (item.chosen, item.rejected)])
            ids = [taste.insert_preference(self._store.db, item, created) for item in new]
        return self._preferences_by_id(ids)

    def preferences(self) -> list[PreferenceRecord]:
        """Every recorded judgement, oldest first."""
        return taste.preferences(self._store.db)

    def remove_preference(self, preference_id: int) -> None:
        with self._store.transaction():
            if not taste.delete_preference(self._store.db, preference_id):
                raise ProjectError(f"no preference {preference_id}: see `midicli prefs`")

    def ratings(self) -> list[tuple[VersionRecord, int]]:
        """Rated versions with their stars."""
        stars = taste.ratings(self._store.db)
        return list(zip(self._store.versions_by_id(list(stars)), stars.values()))

    def rate(
        self, record: VersionRecord, stars: int, implied: list[NewPreference]
    ) -> list[PreferenceRecord]:
        """Give ``record`` 1–5 stars and record the preferences that implies over other
        rated versions; rating it again replaces the old stars and what they implied."""
        created = _now()
        with self._store.transaction():
            self._check_present(
                [record] + [v for item in implied for v in (item.chosen, item.rejected)]
            )
            taste.set_rating(self._store.db, record.id, stars, created)
            ids = [taste.insert_preference(self._store.db, item, created) for item in implied]
        return self._preferences_by_id(ids)

    def adapters(self) -> list[AdapterRecord]:
        return taste.adapters(self._store.db)

    def adapter(self, name: str) -> AdapterRecord:
        """The adapter called ``name``; its folder is checked to lie in ``adapters/``."""
        found = taste.adapters(self._store.db, "WHERE name = ?", (name,))
        if not found:
            raise ProjectError(
                f"no adapter named '{name}' in this project: see `midicli adapters list`"
            )
        self.adapter_dir(found[0])
        return found[0]

    def register_adapter(self, record: AdapterRecord) -> None:
        """Add an adapter whose files are already in place under ``record.path``."""
        with self._store.transaction():
            if taste.adapters(self._store.db, "WHERE name = ?", (record.name,)):
                raise ProjectError(f"an adapter named '{record.name}' exists already")
            taste.insert_adapter(self._store.db, record)

    def remove_adapter(self, name: str) -> AdapterRecord:
        """Remove an adapter (row first, then files) and stop using it as the project default."""
        with self._store.transaction():
            record = self.adapter(name)
            folder = self.adapter_dir(record)
            taste.delete_adapter(self._store.db, name)
        shutil.rmtree(folder, ignore_errors=True)
        if self.config.adapter == name:
            self.config.adapter = None
            self.save_config()
        return record

    def _preferences_by_id(self, ids: list[int]) -> list[PreferenceRecord]:
        found = {
            p.id: p
            for p in taste.preferences(
                self._store.db, f"WHERE id IN ({', '.join('?' * len(ids))})", tuple(ids)
            )
        }
        return [found[i] for i in dict.fromkeys(ids)]

    def _check_present(self, records: list[VersionRecord]) -> None:
        gone = next((r for r in records if not self._store.has_version(r.id)), None)
        if gone is not None:
            raise ProjectError(f"{gone.ref} was removed meanwhile")

    def _recover(self) -> None:
        """Sweep files a killed process left; look without the lock, remove under it."""
        if not orphans(self.pieces_dir, self._referenced()):
            return
        try:
            with self._store.transaction():
                discard(orphans(self.pieces_dir, self._referenced()))
        except ProjectError:
            pass  # read-only or busy: listings ignore orphans anyway; sweep next time

    def _referenced(self) -> set[Path]:
        return {self.root / path for path in self._store.referenced_paths()}


def _numbered(base: str, count: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    suffix = 0
    while len(names) < count:
        suffix += 1
        if f"{base}-{suffix}" not in taken:
            names.append(check_name(f"{base}-{suffix}"))
    return names


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
