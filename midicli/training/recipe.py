"""Recipes: one TOML file that says how a model is made (its dataset, its shape, how it
is trained), so ``midicli train --recipe FILE OUT`` remakes it with one command.

```toml
name = "mini"
[dataset]            # source = "music21" (collections, limit) or a folder of MIDI files
source = "music21"
collections = ["bach", "ryansMammoth"]
limit = 500
chunk_tokens = 2040
augment = 3
[model]              # a new model's shape (or size = "tiny"), or from = MODEL [method = "lora"]
hidden = 256
layers = 6
heads = 8
kv_heads = 4
mlp = 768
text_vocab = 1024
max_positions = 4096
[train]              # the fields of TrainSettings
epochs = 1
learning_rate = 1e-3
[finish]             # optional: a second pass from the first one's weights (TrainSettings too),
learning_rate = 5e-4 # e.g. with many short openings, where the caption's key decides the notes
openings = 8         # (keep the whole draws: a pass on openings only forgets whole pieces)
opening_notes = 4
[keys]               # optional: a last, preference pass that teaches the caption's key
notes = 8            # (the fields of training.keys.KeySettings)
```
"""

from __future__ import annotations

import json
import shutil
import tomllib
from dataclasses import MISSING, dataclass, fields, replace
from pathlib import Path
from typing import Any

from midicli.engines.scaffold import SHAPES, Shape
from midicli.training import TrainingError
from midicli.training.dataset import MANIFEST, BuildProgress, BuildSettings, build
from midicli.training.keys import KeySettings, teach_keys
from midicli.training.run import TrainEvent, TrainProgress, run_folder
from midicli.training.settings import Start, TrainSettings
from midicli.training.sources import Listing, from_folder, from_music21
from midicli.training.train import RECORD_FILE, train

_DATASET_KEYS = {
    "source",
    "collections",
    "limit",
    "captions",
    "chunk_tokens",
    "min_notes",
    "augment",
    "validation",
    "test",
    "seed",
}
_MODEL_KEYS = {f.name for f in fields(Shape)} | {"size", "from", "method", "lora_rank"}


@dataclass(frozen=True)
class Recipe:
    """A recipe as read: the dataset to build, where training starts and how it goes."""

    name: str
    source: str  # "music21" or a folder (relative paths are from the recipe's folder)
    collections: list[str] | None
    limit: int | None
    captions: Path | None
    build: BuildSettings
    start: Start
    settings: TrainSettings
    finish: TrainSettings | None  # a second pass from the first one's weights
    keys: KeySettings | None  # a last pass: the key lesson (training.keys)
    text: dict[str, Any]  # the file's content, recorded with the model

    def listing(self) -> Listing:
        if self.source == "music21":
            return from_music21(self.collections, self.limit)
        return from_folder(Path(self.source), self.captions, self.limit)


def load_recipe(path: Path) -> Recipe:
    """Read and check a recipe; unknown keys are errors (a typo would silently do nothing)."""
    path = Path(path)
    try:
        text = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TrainingError(f"no recipe file {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise TrainingError(f"{path.name} is not valid TOML: {e}") from None
    dataset, model, settings, finish, keys = (
        _table(text, name, path) for name in ("dataset", "model", "train", "finish", "keys")
    )
    _known(dataset, _DATASET_KEYS, "dataset", path)
    _known(model, _MODEL_KEYS, "model", path)
    _known(settings, {f.name for f in fields(TrainSettings)}, "train", path)
    _known(finish, {f.name for f in fields(TrainSettings)}, "finish", path)
    _known(keys, {f.name for f in fields(KeySettings)}, "keys", path)
    _known(text, {"name", "description", "dataset", "model", "train", "finish", "keys"}, "", path)
    source = str(dataset.get("source", "music21"))
    if source != "music21":
        source = str((path.parent / source).resolve())
    build_settings = BuildSettings(
        **{
            ("copies" if k == "augment" else k): v
            for k, v in dataset.items()
            if k not in {"source", "collections", "limit", "captions"}
        }
    )
    captions = dataset.get("captions")
    start = _start(model, path)
    try:
        recipe = Recipe(
            name=str(text.get("name", path.stem)),
            source=source,
            collections=dataset.get("collections"),
            limit=dataset.get("limit"),
            captions=(path.parent / captions).resolve() if captions else None,
            build=build_settings.checked(),
            start=start.checked(),
            settings=TrainSettings(**settings),
            finish=TrainSettings(**finish) if "finish" in text else None,
            keys=KeySettings(**keys).checked() if "keys" in text else None,
            text=text,
        )
        recipe.settings.checked(start)
        if recipe.finish is not None:
            recipe.finish.checked(Start(model="first pass"))
    except TypeError as e:  # a number given as text, and the like
        raise TrainingError(f"{path.name}: a value has the wrong type ({e})") from None
    return recipe


def run_recipe(
    recipe: Recipe,
    out: Path,
    device: str | None = None,
    resume: bool = False,
    restart: bool = False,
    build_progress: BuildProgress | None = None,
    train_progress: TrainProgress | None = None,
    settings: TrainSettings | None = None,
    finish: TrainSettings | None = None,
) -> dict[str, Any]:
    """Build the recipe's dataset (kept in the run folder, so a resumed run reuses it)
    and train on it into ``out``: one pass, a second from the first one's weights when
    the recipe has a [finish], then the key lesson when it has [keys]; each stage's
    model waits in the run folder until the next one is written. ``settings`` and
    ``finish`` replace the recipe's values."""
    settings, finish = settings or recipe.settings, finish or recipe.finish
    with run_folder(out, resume, restart) as run:
        data = run / "dataset"
        if not (data / MANIFEST).is_file():
            build(recipe.listing(), data, recipe.build, force=True, progress=build_progress)
        if recipe.keys is None:
            record = _passes(recipe, data, out, run, settings, finish, device, train_progress)
        else:
            trained = run / "trained"
            if not (trained / RECORD_FILE).is_file():
                _passes(recipe, data, trained, run, settings, finish, device, train_progress)
            record = teach_keys(
                trained, data, out, recipe.keys, _pass_folder(run, "keys"), device, train_progress
            )
    shutil.rmtree(run, ignore_errors=True)
    return record


def _passes(
    recipe: Recipe,
    data: Path,
    out: Path,
    run: Path,
    settings: TrainSettings,
    finish: TrainSettings | None,
    device: str | None,
    progress: TrainProgress | None,
) -> dict[str, Any]:
    """The recipe's next-token training into ``out``: its first pass, and its [finish]
    from the first pass's model (kept in the run folder until the finish is written)."""
    if finish is None:
        return train(
            data,
            out,
            recipe.start,
            settings,
            _pass_folder(run, "first"),
            device,
            progress,
            about={"recipe": recipe.text},
        )
    first = run / "first"
    if not (first / RECORD_FILE).is_file():
        train(data, first, recipe.start, settings, _pass_folder(run, "first"), device, progress)
    earlier = json.loads((first / RECORD_FILE).read_text(encoding="utf-8"))

    def finishing(event: TrainEvent) -> None:
        if progress is not None:
            progress(replace(event, stage="finishing") if event.stage == "training" else event)

    about = {
        "recipe": recipe.text,
        "start": earlier["start"],
        "first": {
            key: earlier[key] for key in ("settings", "metrics", "stopped") if key in earlier
        },
    }
    return train(
        data,
        out,
        Start(model=str(first)),
        finish,
        _pass_folder(run, "finish"),
        device,
        finishing,
        about=about,
    )


def _pass_folder(run: Path, name: str) -> Path:
    """Where one pass keeps its plan and checkpoints (it goes once the pass is saved)."""
    folder = run / f"{name}.run"
    folder.mkdir(exist_ok=True)
    return folder


def _table(text: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    table = text.get(name, {})
    if not isinstance(table, dict):
        raise TrainingError(f"{path.name}: [{name}] must be a table")
    return table


def _known(table: dict[str, Any], keys: set[str], name: str, path: Path) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        where = f"[{name}]" if name else "the top level"
        raise TrainingError(
            f"{path.name}: unknown key {', '.join(unknown)} in {where}; known: "
            f"{', '.join(sorted(keys))}"
        )


def _start(model: dict[str, Any], path: Path) -> Start:
    """Where the recipe's training starts: ``from`` a model, a named ``size``, or a shape."""
    method, rank = model.get("method", "full"), model.get("lora_rank", 16)
    if "from" in model:
        return Start(model=str(model["from"]), method=method, lora_rank=rank)
    if "size" in model:
        if model["size"] not in SHAPES:
            raise TrainingError(f"{path.name}: [model] size must be one of {', '.join(SHAPES)}")
        return Start(shape=SHAPES[model["size"]], method=method)
    shape_keys = {f.name for f in fields(Shape)}
    try:
        return Start(
            shape=Shape(**{k: v for k, v in model.items() if k in shape_keys}), method=method
        )
    except TypeError:
        missing = sorted(
            f.name for f in fields(Shape) if f.default is MISSING and f.name not in model
        )
        raise TrainingError(
            f"{path.name}: [model] needs from, size, or the shape ({', '.join(missing)} missing)"
        ) from None
