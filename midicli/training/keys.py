"""A key lesson: preference training that teaches a model to take its key from the caption.

In real music a caption's key shows only in the first few notes (later notes can follow
the music before them), so next-token training on whole pieces barely learns it: a small
model learns the caption's instruments and still opens in any key (MODEL_CARD.md). This
pass states the lesson directly, as pairs for DPO (trl, all weights): a real opening in
the caption's key is preferred to the very same notes in another key. The two differ in
nothing but their key, so the only way to prefer one is to read the key from the caption.
Both sides are moved from where the piece was written (the caption's key renamed to
match the preferred one), so that every key is taught, not just the corpus's keys.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from midicli.generation.prompt import build_prompt, text_ids
from midicli.music.captions import parse_caption, transpose_caption
from midicli.tokenizers.vocab import ANTICIPATE, AUTOREGRESS
from midicli.training import TrainingError
from midicli.training.dataset import read_split
from midicli.training.preference_data import Pair
from midicli.training.run import StepReport, TrainEvent, TrainProgress, train_from_checkpoint
from midicli.training.train import RECORD_FILE, save_model
from midicli.training.transpose import transpose_music


@dataclass(frozen=True)
class KeySettings:
    """A recipe's [keys] table; recorded with the model."""

    notes: int = (
        8  # notes of each opening: enough to set a key, few enough that nothing else is learned
    )
    pairs: int = 2  # pairs drawn from each plain training sequence
    # a pair's two sides: the opening moved by two different shifts of up to this many semitones
    transpose: int = 5
    epochs: float = 1.0
    learning_rate: float = (
        1e-3  # lower, or a smaller beta, and mini's samples did not move (MODEL_CARD.md)
    )
    beta: float = 0.5
    batch_size: int = 16
    seed: int = 0

    def checked(self) -> KeySettings:
        for name in ("notes", "pairs", "epochs", "learning_rate", "beta", "batch_size"):
            if not getattr(self, name) > 0:
                raise TrainingError(f"[keys] {name} must be above 0, got {getattr(self, name)}")
        if not 1 <= self.transpose <= 5:  # two shifts 12 semitones apart would be the same key
            raise TrainingError(
                f"[keys] transpose is a number of semitones from 1 to 5, got {self.transpose}"
            )
        return self


def key_pairs(
    rows: Iterable[dict[str, Any]],
    tokenizer: Any,
    text_vocab_size: int,
    settings: KeySettings,
    copies: int,
    seed: int,
) -> list[Pair]:
    """``copies`` pairs from each plain row whose caption names a key (infilling copies
    hold controls from later in the piece, which would give the key away). A pair moves
    the row's opening by two different shifts drawn alike, the caption's key renamed for
    the first: both sides are equally often high or low, so nothing but the key tells
    them apart."""
    rng = random.Random(seed)
    keyed = [
        row for row in rows if row["music"][0] == AUTOREGRESS and parse_caption(row["caption"]).key
    ]
    pairs: list[Pair] = []
    for copy in range(copies):
        for index, row in enumerate(keyed):
            opening = row["music"][1 : 1 + 3 * settings.notes]
            into, away = rng.sample(range(-settings.transpose, settings.transpose + 1), 2)
            chosen, rejected = transpose_music(opening, into), transpose_music(opening, away)
            if (
                chosen is None or rejected is None or rejected == chosen
            ):  # out of range, or drums only
                continue
            prompt = build_prompt(
                text_ids(tokenizer, transpose_caption(row["caption"], into)), text_vocab_size
            )
            name = f"{copy}.{index}"
            pairs.append(
                Pair(
                    len(pairs),
                    prompt,
                    [text_vocab_size + t for t in chosen],
                    [text_vocab_size + t for t in rejected],
                    (name, f"{name} moved"),
                )
            )
    return pairs


def teach_keys(
    model: Path,
    dataset: Path,
    out: Path,
    settings: KeySettings,
    run: Path,
    device: str | None = None,
    progress: TrainProgress | None = None,
) -> dict[str, Any]:
    """Give ``model`` the key lesson on ``dataset``'s training split and write the result
    to ``out`` with ``model``'s record plus a ``keys`` entry: the settings, and how often
    (and by how much) the model prefers the opening in the caption's key on the
    validation split's pairs before and after."""
    from midicli.engines.models import load_model, quiet_transformers
    from midicli.training.dpo_trainer import build_trainer
    from midicli.training.preference_metrics import preference_metrics

    settings = settings.checked()
    record_path = Path(model) / RECORD_FILE
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else {}
    length = record.get("settings", {}).get(
        "max_length", 4096
    )  # whole pieces cut as the model's training cut them
    report = progress or (lambda event: None)
    report(TrainEvent("preparing"))
    quiet_transformers()
    loaded = load_model(
        str(model), device=device, dtype="float32"
    )  # master weights that take small steps
    pieces = list(read_split(dataset, "validation"))
    train = key_pairs(
        read_split(dataset, "train"),
        loaded.tokenizer,
        loaded.text_vocab_size,
        settings,
        settings.pairs,
        settings.seed,
    )
    held = key_pairs(pieces, loaded.tokenizer, loaded.text_vocab_size, settings, 1, settings.seed)
    if not train:
        raise TrainingError(
            "no training sequence's caption names a key: the key lesson has nothing to teach"
        )
    before = preference_metrics(loaded.model, held, settings.beta, loaded.device)
    before_loss = validation_loss(
        loaded.model, pieces, loaded.tokenizer, loaded.text_vocab_size, length, loaded.device
    )

    plan = asdict(settings) | {"method": "full", "max_length": 4096}

    def build(step: StepReport) -> Any:
        return build_trainer(loaded, train, plan, run, save_steps=10**9, report=step)

    trainer, _, seconds = train_from_checkpoint(
        run, build, report, stage="keys"
    )  # a short pass: no checkpoints
    after = preference_metrics(trainer.model, held, settings.beta, loaded.device)
    after_loss = validation_loss(
        trainer.model, pieces, loaded.tokenizer, loaded.text_vocab_size, length, loaded.device
    )
    report(TrainEvent("saving", trainer.state.global_step, trainer.state.max_steps))
    record["keys"] = {
        "settings": asdict(settings),
        "metrics": {
            "pairs": len(train),
            "steps": trainer.state.global_step,
            "train_seconds": round(seconds, 1),
            "preference": {"before": before, "after": after},
            "validation_loss": {"before": before_loss, "after": after_loss},
        },
    }
    save_model(trainer.model, loaded.tokenizer, record, Path(out))
    return record


def validation_loss(
    model: Any,
    rows: list[dict[str, Any]],
    tokenizer: Any,
    text_vocab_size: int,
    max_length: int,
    device: Any,
) -> float | None:
    """Mean next-token loss over the music of whole pieces (each cut to ``max_length``
    tokens, as training cuts them): what a lesson on openings must not spoil."""
    import torch

    from midicli.training.preference_metrics import sequence_logprob

    total, tokens = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for row in rows:
            prompt = build_prompt(
                text_ids(tokenizer, row["caption"]),
                text_vocab_size,
                anticipate=row["music"][0] == ANTICIPATE,
            )
            music = [text_vocab_size + t for t in row["music"][1:]][
                : max(max_length - len(prompt), 0)
            ]
            if music:
                total -= sequence_logprob(model, prompt, music, device)
                tokens += len(music)
    model.train(was_training)
    return round(total / tokens, 4) if tokens else None
