"""A user trains a model on a dataset: a new small one whose tokenizer learned the
captions, or an existing one through LoRA. The loss goes down, an interrupted run goes
on from its checkpoint, and the result loads and composes like any model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from midicli.engines.base import Request, SamplingParams
from midicli.engines.models import load_model
from midicli.engines.scaffold import SHAPES, build_text_tokenizer
from midicli.engines.transformers import TransformersEngine
from midicli.generation.prompt import build_prompt, text_ids
from midicli.music.midi_io import midi_bytes, read_midi
from midicli.music.piece import Piece
from midicli.project.files import FILE_MODE
from midicli.tokenizers import amt
from midicli.tokenizers.amt_generation import GrammarSpec
from midicli.training import TrainingError
from midicli.training.dataset import read_split
from midicli.training.run import TrainEvent, run_dir, run_folder
from midicli.training.settings import Start, TrainSettings
from midicli.training.train import train

FAST = TrainSettings(
    max_steps=12,
    batch_size=4,
    learning_rate=3e-3,
    max_length=256,
    eval_steps=6,
    save_steps=6,
    logging_steps=1,
    warmup=0.0,
)


def test_a_new_model_learns_and_composes_through_the_normal_loading_path(
    small_dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "model"
    events: list[TrainEvent] = []
    with run_folder(out) as run:
        record = train(
            small_dataset,
            out,
            Start(shape=SHAPES["tiny"]),
            FAST,
            run,
            device="cpu",
            progress=events.append,
        )
    m = record["metrics"]
    assert m["steps"] == 12 and m["sequences"]["validation"] > 0
    assert m["validation_loss"]["end"] < m["validation_loss"]["start"] - 0.1
    assert m["train_loss"]["last"] < m["train_loss"]["first"] - 0.1
    assert [e.stage for e in events][0] == "preparing" and events[-1].stage == "saving"
    assert any(e.eval_loss is not None for e in events) and not run_dir(out).exists()
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {
        FILE_MODE
    }  # others may read it, as the umask says

    loaded = load_model(out, device="cpu")
    assert loaded.text_vocab_size == 1024 and loaded.model.config.use_cache
    caption = next(read_split(small_dataset, "train"))["caption"]
    assert (
        len(text_ids(loaded.tokenizer, caption))
        < len(text_ids(build_text_tokenizer(), caption)) / 2
    )  # it knows the words
    engine = TransformersEngine(loaded)
    prompt = build_prompt(text_ids(loaded.tokenizer, caption), loaded.text_vocab_size)
    (completion,) = engine.generate(
        Request(prompt, SamplingParams(n=1, max_new_tokens=30, seed=0), GrammarSpec())
    )
    music = [t - loaded.text_vocab_size for t in completion.token_ids]
    whole = music[
        : len(music) - len(music) % 3
    ]  # a lone last time is the 99.99 s horizon ending it
    notes = amt.events_to_notes(whole)
    assert len(read_midi(midi_bytes(Piece(notes))).notes) == len(notes) == len(whole) // 3 > 0


def test_an_interrupted_run_goes_on_from_its_last_checkpoint(
    small_dataset: Path, tmp_path: Path
) -> None:
    out = tmp_path / "model"
    settings = TrainSettings(
        max_steps=6, batch_size=2, max_length=128, eval_steps=100, save_steps=2, logging_steps=1
    )

    def stop_at_step_3(event: TrainEvent) -> None:
        if event.step >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), run_folder(out) as run:
        train(
            small_dataset,
            out,
            Start(shape=SHAPES["tiny"]),
            settings,
            run,
            device="cpu",
            progress=stop_at_step_3,
        )
    assert (run_dir(out) / "checkpoints" / "checkpoint-2").is_dir() and not out.exists()

    with pytest.raises(TrainingError, match="pass --resume"):
        with run_folder(out):
            pass
    with (
        pytest.raises(TrainingError, match=r"other settings \(settings.learning_rate\)"),
        run_folder(out, resume=True) as run,
    ):
        train(
            small_dataset,
            out,
            Start(shape=SHAPES["tiny"]),
            replace(settings, learning_rate=0.1),
            run,
        )
    with run_folder(out, resume=True) as run:
        record = train(small_dataset, out, Start(shape=SHAPES["tiny"]), settings, run, device="cpu")
    assert (record["metrics"]["resumed_at"], record["metrics"]["steps"]) == (2, 6)
    assert load_model(out, device="cpu").text_vocab_size == 1024


def test_a_run_that_fails_before_its_first_checkpoint_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "model"
    with pytest.raises(TrainingError, match="is not a dataset"), run_folder(out) as run:
        train(tmp_path / "nowhere", out, Start(shape=SHAPES["tiny"]), FAST, run)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TrainingError, match="no interrupted run"):
        with run_folder(out, resume=True):
            pass


def test_lora_on_an_existing_model_is_merged_into_a_complete_model(
    small_dataset: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "tuned"
    start = Start(model=str(tiny_model_dir), method="lora", lora_rank=4)
    settings = TrainSettings(
        max_steps=4, batch_size=2, max_length=128, eval_steps=4, save_steps=4, logging_steps=1
    )
    with (
        pytest.raises(TrainingError, match="no training sequence has room for music"),
        run_folder(out) as run,
    ):
        train(
            small_dataset, out, start, settings, run, device="cpu"
        )  # the scaffold's tokenizer spells captions out
    with run_folder(out) as run:
        record = train(
            small_dataset,
            out,
            start,
            replace(settings, max_length=512, learning_rate=1e-2),
            run,
            device="cpu",
        )
    assert (
        record["start"]["method"] == "lora" and record["metrics"]["train_loss"]["last"] is not None
    )
    tuned, base = load_model(out, device="cpu"), load_model(tiny_model_dir, device="cpu")
    assert tuned.text_vocab_size == base.text_vocab_size and len(tuned.tokenizer) == len(
        base.tokenizer
    )
    assert not (out / "adapter_config.json").exists()
    changed = {
        name
        for name, weight in tuned.model.state_dict().items()
        if not torch.equal(weight, base.model.state_dict()[name])
    }
    assert any("q_proj" in name for name in changed) and not any(
        "norm" in name for name in changed
    )  # LoRA moved the linear layers only


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (Start(), "not both"),
        (Start(shape=SHAPES["tiny"], model="x"), "not both"),
        (Start(shape=SHAPES["tiny"], method="lora"), "--lora needs --from MODEL"),
        (Start(model="x", method="dpo"), "one of full, lora"),
    ],
)
def test_where_training_starts_must_be_clear(start: Start, message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        start.checked()


def test_settings_out_of_range_are_refused() -> None:
    with pytest.raises(TrainingError, match="--batch-size must be above 0"):
        TrainSettings(batch_size=0).checked(Start(shape=SHAPES["tiny"]))
    assert TrainSettings().checked(Start(model="x")).learning_rate == 5e-5
    assert TrainSettings().checked(Start(model="x", method="lora")).learning_rate == 2e-4


def test_the_loss_is_the_models_own_next_token_loss_over_the_learned_music(
    small_dataset: Path, tmp_path: Path
) -> None:
    """The Trainer projects only the learned positions onto the vocabulary; the loss it
    gets must be exactly the model's own causal-LM loss over the whole sequences."""
    from dataclasses import asdict

    from transformers import DataCollatorForSeq2Seq, LlamaForCausalLM

    from midicli.engines.scaffold import scaffold_config
    from midicli.training.settings import IGNORE
    from midicli.training.sft_trainer import build_trainer, encoded
    from midicli.training.train import _encoder

    tokenizer = build_text_tokenizer([row["caption"] for row in read_split(small_dataset, "train")])
    torch.manual_seed(0)
    model = LlamaForCausalLM._from_config(
        scaffold_config(SHAPES["tiny"], tokenizer), dtype=torch.float32
    )
    rows = encoded(
        small_dataset / "train.jsonl", _encoder(tokenizer, 1024, 256), tmp_path / "cache"
    )
    settings = asdict(FAST.checked(Start(shape=SHAPES["tiny"])))
    trainer = build_trainer(
        model, tokenizer, rows, None, settings, tmp_path / "checkpoints", torch.device("cpu"), None
    )
    batch = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE, return_tensors="pt")(
        [{k: rows[i][k] for k in ("input_ids", "labels")} for i in range(4)]
    )
    assert (
        "attention_mask" in batch and batch["labels"].eq(IGNORE).sum() > batch["labels"].shape[0]
    )  # prompts are left out
    with torch.no_grad():
        expected = model(**batch).loss
        learned = int(batch["labels"][:, 1:].ne(IGNORE).sum())
        assert torch.allclose(trainer.compute_loss(model, dict(batch)), expected, atol=1e-5)
        halves = trainer.compute_loss(model, dict(batch), num_items_in_batch=2 * learned)
    assert torch.allclose(
        halves, expected / 2, atol=1e-5
    )  # an accumulated batch's count divides the sum
