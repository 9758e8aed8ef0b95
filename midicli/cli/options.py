"""Option types shared by every command, defined once: one flag, help text and meaning
each, whichever command (compose, continue, infill, studio, eval, tune) takes them."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_type_hints

import typer
from typer import _click as click
from typer.core import TyperGroup, TyperOption

from midicli import defaults
from midicli.cli.output import err_console
from midicli.engines.base import SamplingParams
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
            "Quantization on a CPU: none, int8, int4 or auto (int8 for MIDI-LLM-sized models, "
            "none for mini; GPUs: none)."
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
    default. A command taking ``choice: EngineChoice`` under :func:`option_groups` shows
    these as its own options."""

    model: Model = None
    engine: EngineName = None
    device: Device = None
    url: Url = None
    fp8: Fp8 = False
    gpu_memory_utilization: MemoryShare = None
    dtype: Dtype = None
    quantize: Quantize = None
    adapter: Adapter = None

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


@dataclass(frozen=True)
class Draw:
    """How compose, continue and infill draw their candidates: sampling, ranking and the
    musical limits, as a command taking ``draw: Draw`` under :func:`option_groups` shows
    them (its default instance sets the command's own defaults)."""

    n: Candidates = defaults.CANDIDATES
    seed: Seed = None
    instruments: Instruments = None
    best_of: BestOf = None
    key_lean: KeyLean = None
    instrument_lean: InstrumentLean = None
    max_tokens: MaxTokens = defaults.MAX_NEW_TOKENS
    temperature: Temperature = None
    top_p: TopP = None
    max_simultaneous: MaxSimultaneous = None

    def sampling(self) -> SamplingParams:
        """The sampling settings (a None temperature or top-p: the model's own)."""
        return SamplingParams(self.n, self.temperature, self.top_p, self.max_tokens, self.seed)


F = TypeVar("F", bound=Callable[..., Any])


def option_groups(command: F) -> F:
    """Let a command take a group of shared options as one parameter: a parameter
    annotated with a dataclass of option fields (:class:`EngineChoice`, :class:`Draw`)
    stands, in --help and on the command line, for the group's options in their order,
    and reaches the command as the dataclass built from them. A default instance of the
    group sets the command's defaults."""
    signature = inspect.signature(command, eval_str=True)
    groups = {
        name: param
        for name, param in signature.parameters.items()
        if dataclasses.is_dataclass(param.annotation)
    }
    params: list[inspect.Parameter] = []
    for param in signature.parameters.values():
        if param.name not in groups:
            params.append(param)
            continue
        group = param.annotation
        defaults_from = param.default if param.default is not param.empty else group()
        hints = get_type_hints(group, include_extras=True)
        params += [
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=getattr(defaults_from, field.name),
                annotation=hints[field.name],
            )
            for field in dataclasses.fields(group)
        ]

    @functools.wraps(command)
    def run(**values: Any) -> Any:
        for name, param in groups.items():
            fields = dataclasses.fields(param.annotation)
            values[name] = param.annotation(**{f.name: values.pop(f.name) for f in fields})
        return command(**values)

    kinds = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]
    run.__signature__ = signature.replace(parameters=kinds)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in kinds}
    return run  # type: ignore[return-value]


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
