"""The studio's state and actions: one project, one warm engine, a current version.

Every action goes through the library (generation operations, the project, the
preference records); the studio only remembers where the user is. ``undo`` and
``redo`` move that pointer between steps and never delete anything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from midicli import defaults
from midicli.cli.options import EngineChoice
from midicli.engines.base import Engine, SamplingParams
from midicli.errors import GenerationError, MidicliError
from midicli.generation import operations
from midicli.generation.span import Constraints
from midicli.generation.write import CandidateProgress
from midicli.music.meter import parse_length, parse_time
from midicli.project import Project, preferences
from midicli.project.adapters import NO_ADAPTER
from midicli.project.records import PreferenceRecord, VersionRecord

DEFAULT_CONTINUE = "20"


class StudioError(MidicliError):
    """An action that cannot run in the studio's present state."""


@dataclass
class Settings:
    """What the studio generates with; ``None`` means the project's setting."""

    choice: EngineChoice = EngineChoice()  # the model, engine, adapter and the engine's own options
    n: int = defaults.CANDIDATES
    max_tokens: int = defaults.MAX_NEW_TOKENS
    temperature: float | None = None  # None: the model's
    top_p: float | None = None
    seed: int | None = None  # with a seed, request k of the session uses seed + k
    max_simultaneous: int | None = None


@dataclass(frozen=True)
class Ask:
    """A generation as the user asked for it, kept so ``again`` can ask it again."""

    operation: str  # compose, continue or infill
    text: str | None
    ref: str | None = None  # the exact version continued or infilled (NAME@N)
    seconds: float | None = None
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class Step:
    """Where the studio points after one step: the current version, the candidates on
    screen and the stretch of time they differ in (for their sketches)."""

    current: VersionRecord | None = None
    candidates: tuple[VersionRecord, ...] = ()
    window: tuple[float, float] | None = None


class Studio:
    """One project, the settings to generate with, and the steps the user has taken."""

    def __init__(self, project: Project, settings: Settings, ref: str | None = None) -> None:
        self.project = project
        self.settings = settings
        self.steps = [Step(project.resolve(ref) if ref else None)]
        self.position = 0
        self.request: Ask | None = None
        self.description: str | None = None  # the last words given to the model
        self.requests_made = 0
        self._engine: Engine | None = None
        self._sampling(None)  # bad settings fail now, not at the first request
        if settings.max_simultaneous is not None and settings.max_simultaneous < 1:
            raise GenerationError("--max-simultaneous must be at least 1")

    # -- where we are ----------------------------------------------------------------

    @property
    def step(self) -> Step:
        return self.steps[self.position]

    @property
    def current(self) -> VersionRecord:
        if self.step.current is None:
            raise StudioError("no current version yet: `compose TEXT` or `open NAME` first")
        return self.step.current

    def _move(self, step: Step) -> Step:
        """A new step: what was undone is dropped from the way forward (not from the project)."""
        del self.steps[self.position + 1 :]
        self.steps.append(step)
        self.position += 1
        return step

    def undo(self) -> Step:
        if self.position == 0:
            raise StudioError("nothing to undo")
        self.position -= 1
        return self.step

    def redo(self) -> Step:
        if self.position + 1 == len(self.steps):
            raise StudioError("nothing to redo")
        self.position += 1
        return self.step

    def open(self, ref: str) -> Step:
        return self._move(Step(self.project.resolve(ref)))

    def candidate(self, which: str) -> VersionRecord:
        """Candidate K of the last generation on screen, or any version by reference."""
        if not which.isdigit():
            return self.project.resolve(which)
        candidates = self.step.candidates
        if not 1 <= int(which) <= len(candidates):
            raise StudioError(
                f"there is no candidate {which}: "
                + (f"choose 1–{len(candidates)}" if candidates else "generate some first")
            )
        return candidates[int(which) - 1]

    # -- the engine ------------------------------------------------------------------

    @property
    def engine_loaded(self) -> bool:
        return self._engine is not None

    def model_description(self) -> str:
        config = self.project.config
        choice = self.settings.choice
        model = choice.model or config.model or "none chosen"
        engine = choice.engine or config.engine or "transformers"
        adapter = choice.adapter or config.adapter or NO_ADAPTER
        return f"{model} on the {engine} engine, adapter {adapter}"

    def engine(self) -> Engine:
        """The engine, loaded on first use and kept warm for the rest of the session."""
        if self._engine is None:
            self._engine = self.settings.choice.open(self.project)
        return self._engine

    def use_model(self, name: str) -> None:
        self.settings = replace(self.settings, choice=replace(self.settings.choice, model=name))
        self._engine = None

    def use_adapter(self, name: str) -> None:
        if name != NO_ADAPTER:
            self.project.adapter(name)  # it must exist
        self.settings = replace(self.settings, choice=replace(self.settings.choice, adapter=name))
        self._engine = None

    # -- asking the model --------------------------------------------------------------

    def _sampling(self, n: int | None) -> SamplingParams:
        seed = None if self.settings.seed is None else self.settings.seed + self.requests_made
        s = self.settings
        return operations.check_sampling(
            SamplingParams(n or s.n, s.temperature, s.top_p, s.max_tokens, seed)
        )

    def compose(
        self, text: str, n: int | None = None, progress: CandidateProgress | None = None
    ) -> list[operations.Created]:
        return self.ask(Ask("compose", text), n, progress)

    def continue_(
        self,
        seconds: str | None,
        text: str | None,
        n: int | None = None,
        progress: CandidateProgress | None = None,
    ) -> list[operations.Created]:
        record = self.current
        piece = self.project.load_piece(record)
        length = parse_length(seconds or DEFAULT_CONTINUE, piece, piece.duration)
        return self.ask(Ask("continue", text, record.ref, seconds=length), n, progress)

    def infill(
        self,
        start: str,
        end: str,
        text: str | None,
        n: int | None = None,
        progress: CandidateProgress | None = None,
    ) -> list[operations.Created]:
        record = self.current
        piece = self.project.load_piece(record)
        begin, finish = parse_time(start, piece), parse_time(end, piece)
        operations.check_range(piece, begin, finish)
        return self.ask(Ask("infill", text, record.ref, start=begin, end=finish), n, progress)

    def again(
        self, n: int | None = None, progress: CandidateProgress | None = None
    ) -> list[operations.Created]:
        if self.request is None:
            raise StudioError("nothing to ask again yet: compose, continue or infill first")
        return self.ask(self.request, n, progress)

    def ask(
        self, request: Ask, n: int | None = None, progress: CandidateProgress | None = None
    ) -> list[operations.Created]:
        """Run a request; its candidates become the new step, the first one current.
        Interrupted (Ctrl-C), it stores nothing and the studio stays where it was."""
        sampling = self._sampling(n)
        limits = Constraints(max_onsets_per_instant=self.settings.max_simultaneous)
        engine = self.engine()
        if request.operation == "compose":
            created = operations.compose(
                self.project, engine, request.text or "", sampling, limits, progress
            )
            window = None
        elif request.operation == "continue":
            assert request.ref is not None and request.seconds is not None
            created = operations.continue_piece(
                self.project,
                engine,
                request.ref,
                request.seconds,
                request.text,
                sampling,
                limits,
                progress,
            )
            start = float(created[0].record.params["from"])
            window = (start, start + request.seconds)
        else:
            assert request.ref is not None and request.start is not None and request.end is not None
            created = operations.infill(
                self.project,
                engine,
                request.ref,
                request.start,
                request.end,
                request.text,
                sampling,
                constraints=limits,
                progress=progress,
            )
            window = (request.start, request.end)
        self.requests_made += 1
        self.request = request
        self.description = created[0].record.text or self.description
        records = tuple(c.record for c in created)
        self._move(Step(records[0], records, window))
        return created

    # -- choosing ----------------------------------------------------------------------

    def keep(self, k: int) -> list[PreferenceRecord]:
        """Candidate ``k`` becomes current; with other candidates on screen, the choice is
        recorded as preferred over each of them."""
        chosen = self.candidate(str(k))
        recorded = (
            preferences.pick(self.project, chosen.ref) if len(self.step.candidates) > 1 else []
        )
        self._move(replace(self.step, current=chosen))
        return recorded

    def prefer(self, better: str, worse: str) -> PreferenceRecord:
        return preferences.prefer(
            self.project, self.candidate(better).ref, self.candidate(worse).ref
        )

    def edited(self, record: VersionRecord) -> Step:
        """A version made outside generation (an edit) becomes current."""
        return self._move(Step(record))
