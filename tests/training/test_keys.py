"""The key lesson: pairs of one opening in and out of its caption's key, and a DPO pass
on them after which a model prefers the opening in the key its caption names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import SMALL_RECIPE

from midicli.engines.models import LoadedModel, load_model
from midicli.evaluation.metrics import pitch_class
from midicli.generation.prompt import system_prompt
from midicli.music.captions import parse_caption, transpose_caption
from midicli.tokenizers import amt
from midicli.tokenizers.vocab import AUTOREGRESS, DRUMS
from midicli.training import TrainingError
from midicli.training.dataset import read_split
from midicli.training.keys import KeySettings, key_pairs, teach_keys
from midicli.training.preference_metrics import preference_metrics
from midicli.training.recipe import load_recipe, run_recipe
from midicli.training.run import TrainEvent, run_dir
from midicli.training.train import RECORD_FILE


def keyed_rows(dataset: Path) -> list[dict]:
    return [
        row
        for row in read_split(dataset, "train")
        if row["music"][0] == AUTOREGRESS and parse_caption(row["caption"]).key
    ]


def notes_of(ids: list[int], text_vocab_size: int) -> list[amt.Note]:
    return amt.events_to_notes([token - text_vocab_size for token in ids])


def test_a_pair_is_one_opening_in_its_captions_key_and_in_another(
    small_dataset: Path, tiny_model: LoadedModel
) -> None:
    rows, tvs = keyed_rows(small_dataset), tiny_model.text_vocab_size
    pairs = key_pairs(
        rows, tiny_model.tokenizer, tvs, KeySettings(notes=5, transpose=5), copies=3, seed=0
    )
    assert len(rows) >= 5 and 2 * len(rows) < len(pairs) <= 3 * len(rows)
    keys_taught, shifts = set(), {"chosen": [], "rejected": []}
    for pair in pairs:
        source = rows[int(pair.versions[0].split(".")[1])]
        prompt = tiny_model.tokenizer.decode(pair.prompt_ids[:-1], skip_special_tokens=True)
        assert pair.prompt_ids[-1] == tvs + AUTOREGRESS
        chosen, rejected, written = (
            notes_of(pair.chosen_ids, tvs),
            notes_of(pair.rejected_ids, tvs),
            notes_of(source["music"][1:16], 0),
        )
        assert len(chosen) == len(rejected) == len(written) == 5
        timing = [(n.onset, n.duration, n.instrument) for n in written]
        assert (
            [(n.onset, n.duration, n.instrument) for n in chosen]
            == [(n.onset, n.duration, n.instrument) for n in rejected]
            == timing
        )
        pitched = [
            (c.pitch, r.pitch, w.pitch)
            for c, r, w in zip(chosen, rejected, written)
            if c.instrument != DRUMS
        ]
        (into,), (away,) = {c - w for c, _, w in pitched}, {r - w for _, r, w in pitched}
        assert (away - into) % 12 != 0  # the rejected side is in another key
        # the caption says nothing else differently: its key is renamed as the chosen notes moved
        assert prompt == system_prompt() + transpose_caption(source["caption"], into) + " "
        asked, said = parse_caption(prompt), parse_caption(source["caption"])
        assert (
            pitch_class(asked.key) - pitch_class(said.key)
        ) % 12 == into % 12 and asked.mode == said.mode
        keys_taught.add(asked.key)
        shifts["chosen"].append(into)
        shifts["rejected"].append(away)
    assert len(keys_taught) >= 6  # every key is taught, not only the ones the pieces are written in
    # both sides are moved alike: the rejected one is not told apart by being further from where
    # the piece was written
    mean = {side: sum(map(abs, found)) / len(found) for side, found in shifts.items()}
    assert abs(mean["chosen"] - mean["rejected"]) < 0.5


def test_the_lesson_makes_a_model_prefer_openings_in_its_captions_key(
    small_dataset: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    settings = KeySettings(notes=4, pairs=1, epochs=1, learning_rate=3e-3, beta=0.5, batch_size=16)
    events: list[TrainEvent] = []
    record = teach_keys(
        tiny_model_dir,
        small_dataset,
        tmp_path / "taught",
        settings,
        tmp_path / "run",
        "cpu",
        events.append,
    )

    before, after = (
        load_model(tiny_model_dir, device="cpu"),
        load_model(tmp_path / "taught", device="cpu"),
    )
    pairs = key_pairs(
        keyed_rows(small_dataset),
        before.tokenizer,
        before.text_vocab_size,
        settings,
        settings.pairs,
        settings.seed,
    )
    was, now = (preference_metrics(m.model, pairs, 1.0, m.device) for m in (before, after))
    assert (
        now["accuracy"] > max(was["accuracy"], 0.7) and now["margin"] > was["margin"] + 0.5
    )  # log-likelihood gap, in nats
    m = record["keys"]["metrics"]
    assert (
        record["keys"]["settings"]["learning_rate"] == 3e-3
        and m["pairs"] == len(pairs)
        and m["steps"] > 0
    )
    assert m["validation_loss"]["before"] > 0 and m["validation_loss"]["after"] > 0
    assert json.loads((tmp_path / "taught" / RECORD_FILE).read_text(encoding="utf-8")) == record
    assert {e.stage for e in events} == {"preparing", "keys", "saving"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("notes = 0", r"\[keys\] notes must be above 0"),
        ("transpose = 6", r"\[keys\] transpose is a number of semitones from 1 to 5"),
        ("note = 4", r"unknown key note in \[keys\]"),
    ],
)
def test_mistakes_in_the_keys_table_are_named(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "recipe.toml"
    path.write_text(f"[model]\nsize = 'tiny'\n[keys]\n{table}\n", encoding="utf-8")
    with pytest.raises(TrainingError, match=message):
        load_recipe(path)


def test_a_recipe_with_keys_ends_on_the_lesson_and_records_every_stage(
    midi_folder: Path, tmp_path: Path
) -> None:
    path = tmp_path / "recipe.toml"
    path.write_text(
        SMALL_RECIPE
        + """[train]
max_steps = 3
batch_size = 2
max_length = 256
logging_steps = 1
[keys]
notes = 2
pairs = 1
epochs = 0.1
batch_size = 8
""",
        encoding="utf-8",
    )
    recipe, out = load_recipe(path), tmp_path / "model"
    stages: list[str] = []
    record = run_recipe(recipe, out, "cpu", train_progress=lambda event: stages.append(event.stage))
    assert stages.index("training") < stages.index("keys") and not run_dir(out).exists()
    assert (
        record["recipe"]["keys"] == {"notes": 2, "pairs": 1, "epochs": 0.1, "batch_size": 8}
        and record["metrics"]["steps"] == 3
    )
    assert (
        record["keys"]["metrics"]["steps"] > 0
        and json.loads((out / RECORD_FILE).read_text(encoding="utf-8")) == record
    )
    assert load_model(out, device="cpu").text_vocab_size == 1024
