"""Option types shared by every command, defined once: one flag, help text and meaning
each, whichever command (compose, continue, infill, studio, eval, tune) takes them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer import _click as click
from typer.core import TyperGroup, TyperOption

from midicli.cli.output import err_console
from midicli.project.adapters import NO_ADAPTER

if TYPE_CHECKING:
    from midicli.engines.base import Engine
    from midicli.project import Project

Json = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")
]
Ref = Annotated[
    str,
    typer.Argument(
        help="A piece: NAME (latest version) or NAME@N (version N).", show_default=False
    ),
]
OutFile = Annotated[Path, typer.Option("-o", "--output", help="File to write.", dir_okay=False)]

# -- how the music is drawn -------------------------------------------------------------

Candidates = Annotated[int, typer.Option("-n", help="How many candidates to generate.")]
Seed = Annotated[
    int | None,
    typer.Option(help="Random seed; the same seed gives the same notes (recorded either way)."),
]
MaxTokens = Annotated[
    int, typer.Option("--max-tokens", help="Most new tokens per round (3 per note).")
]
Temperature = Annotated[
    float | None,
    typer.Option(
        help="Sampling temperature (default: the model's, 1.0 for MIDI-LLM).", show_default=False
    ),
]
TopP = Annotated[
    float | None,
    typer.Option(
        "--top-p",
        help=(
            "Nucleus sampling: keep the most likely tokens up to this mass (default: the model's, "
            "0.98 for MIDI-LLM)."
        ),
        show_default=False,
    ),
]


def _project_or_model(kind: type, flag: str, what: str) -> Any:
    """An option whose default is the project's setting in midicli.toml, else the model's."""
    return Annotated[
        kind | None,
        typer.Option(
            flag, help=f"{what} (default: the project's, else the model's).", show_default=False
        ),
    ]


BestOf = _project_or_model(
    int, "--best-of", "Draw this many candidates and keep the best -n by their score"
)
KeyLean = _project_or_model(
    float, "--key-lean", "How hard sampling leans toward the key the words name; 0 for none"
)
InstrumentLean = _project_or_model(
    float,
    "--instrument-lean",
    "How hard sampling leans away from instruments the words do not name; 0 for none",
)
Instruments = Annotated[
    str | None,
    typer.Option(help="Allow only these instruments, e.g. 'piano,drums' or GM program numbers."),
]
MaxSimultaneous = Annotated[
    int | None,
    typer.Option(
        "--max-simultaneous",
        help="Most notes that may start at the same instant (default: the model's, else 16).",
        show_default=False,
    ),
]

# -- which model, on which engine ---------------------------------------------------------

Model = Annotated[
    str | None,
    typer.Option(
        help="Model: a preset (mini, midi-llm), hub id or folder (default: the project's)."
    ),
]
EngineName = Annotated[
    str | None,
    typer.Option("--engine", help="Engine (default: the project's, else transformers)."),
]
Device = Annotated[str | None, typer.Option(help="cuda, mps or cpu (default: the best available).")]
Url = Annotated[
    str | None,
    typer.Option(help="With --engine server: the vLLM server, e.g. http://HOST:8000/v1."),
]
Fp8 = Annotated[
    bool, typer.Option("--fp8", help="vLLM engines: fp8 weights (vLLM's quantization='fp8').")
]
MemoryShare = Annotated[
    float | None,
    typer.Option(
        "--gpu-memory-utilization",
        help="In-process vLLM: share of GPU memory (host RAM on CPU) to reserve.",
    ),
]
Dtype = Annotated[
    str | None,
    typer.Option(
        help=(
            "Weights' precision: bfloat16, float16 or float32 (default: bf16 on GPU, fp32 on CPU, "
            "bf16 with --quantize)."
        )
    ),
]
Quantize = Annotated[
    str | None,
    typer.Option(
        help=(
            "Weight-only quantization on a CPU: none, int8, int4 or auto (int8 for MIDI-LLM-sized "
            "models, none for mini; GPUs: none)."
        ),
        show_default=False,
    ),
]
Adapter = Annotated[
    str | None,
    typer.Option(
        help=(
            "A tuned adapter of this project (default: the project's, see `midicli adapters`); "
            f"'{NO_ADAPTER}' for the base model."
        )
    ),
]


@dataclass(frozen=True)
class EngineChoice:
    """What the model options chose; ``None`` leaves a choice to the project, then to the
    default."""

    model: str | None = None
    engine: str | None = None
    adapter: str | None = None
    device: str | None = None
    dtype: str | None = None
    url: str | None = None
    fp8: bool = False
    gpu_memory_utilization: float | None = None
    quantize: str | None = None

    def open(self, project: Project | None) -> Engine:
        """The engine (kept open for the process); unset options are left to the engine."""
        from midicli.generation.engine import load_engine

        options = {
            "device": self.device,
            "dtype": self.dtype,
            "url": self.url,
            "fp8": self.fp8,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "quantize": self.quantize,
        }
        return load_engine(project, self.model, self.engine, self.adapter, **options)

    def load(self, project: Project | None) -> Engine:
        """The engine, with a status line while it loads (a large model takes a while)."""
        from midicli.generation.engine import describe_choice

        with err_console.status(
            f"Loading {describe_choice(project, self.model, self.engine, self.adapter)}…"
        ):
            return self.open(project)


class FlagsWithoutTypes(TyperGroup):
    """A root group whose --help shows no ``<bool>`` beside flags: a flag takes no value."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        for command in _every_command(self):
            for param in [*command.params, command.get_help_option(ctx)]:
                if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
                    param.metavar = ""  # what Typer shows in the type column instead of <bool>
        return super().get_params(ctx)


def _every_command(command: click.Command) -> Iterator[click.Command]:
    yield command
    for child in getattr(command, "commands", {}).values():
        yield from _every_command(child)
