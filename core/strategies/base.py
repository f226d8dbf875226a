"""The strategy interface: typed parameters and a few hooks.

Every imbalance strategy is one small class with a stable ``name``, a UI
``label`` and ``help``, typed ``params``, and overrides of the hooks it needs.
Hooks run in this order inside a run (see ``core.runs.pipeline``):
``relabel`` → ``resample`` → ``sample_weights`` → ``head`` / ``model`` /
``loss`` / ``output_bias`` → ``fit`` (two-stage methods, ensembles) → ``decide``.
Strategies that would fight over the same thing (two losses, two fits) declare
it in ``uses`` and the registry refuses the combination with a clear message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from core.data.dataset import LabeledTexts
from core.errors import InputError
from core.runs.decision_rules import Decision
from core.runs.heads import Head
from core.runs.types import (
    Fitted,
    LossSpec,
    ModelSpec,
    Outputs,
    RunContext,
    TrainingSet,
)


@dataclass(frozen=True)
class Param:
    """One typed hyper-parameter; ``kind`` is float | int | bool | choice | json | str."""

    name: str
    kind: str
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    label: str = ""  # in words, for forms (the identifier stays in recipes and the help)
    when: tuple[str, tuple[Any, ...]] | None = None  # applies only while that parameter has one of these values

    @property
    def words(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def applies(self, values: dict[str, Any]) -> bool:
        """Whether this parameter changes anything given the strategy's other ``values`` (a form hides it if not)."""
        return self.when is None or values.get(self.when[0]) in self.when[1]

    def coerce(self, value: Any, *, strategy: str) -> Any:
        where = f"{strategy}({self.name}=…)"
        try:
            if self.kind == "float":
                value = float(value)
            elif self.kind == "int":
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                value = int(value)
            elif self.kind == "bool":
                value = value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes", "on"}
            elif self.kind == "json":
                value = json.loads(value) if isinstance(value, str) and value.strip()[:1] in "{[" else value
            else:
                value = str(value)
        except (TypeError, ValueError, json.JSONDecodeError):
            raise InputError(f"{where}: expected a {self.kind} value, got {value!r}.") from None
        if self.kind in {"float", "int"}:
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise InputError(f"{where}: {value} is outside the allowed range {self.min}…{self.max}.")
        if self.kind == "choice" and value not in self.choices:
            raise InputError(f"{where}: {value!r} is not one of {', '.join(self.choices)}.")
        return value


@dataclass(frozen=True)
class LabelSet:
    """The classes a recipe trains on and the dataset's rows of each: what ``Strategy.check_labels`` judges
    when an experiment is submitted (after the recipe's merges, ``Strategy.relabelled``)."""

    classes: tuple[str, ...]
    counts: tuple[int, ...]
    ordinal: bool = False

    @property
    def smallest(self) -> str:
        """The class with the fewest rows (ties: the first in label order)."""
        return self.classes[int(np.argmin(self.counts))]


class Strategy:
    """Base class; subclasses set the class attributes and override hooks."""

    name: ClassVar[str]
    label: ClassVar[str]
    family: ClassVar[str]
    help: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    uses: ClassVar[frozenset[str]] = frozenset()
    needs_ordinal: ClassVar[bool] = False  # ordinal labels (or a continuous target) required
    cost: ClassVar[float] = 1.0  # relative training time, for the UI's estimate
    version: ClassVar[int] = 1  # raise when this strategy's results change: its runs are trained again

    def __init__(self, **values: Any) -> None:
        known = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            allowed = ", ".join(known) or "none"
            raise InputError(f"{self.name}: unknown parameter {', '.join(unknown)} (allowed: {allowed}).")
        self.values = {p.name: p.coerce(values.get(p.name, p.default), strategy=self.name) for p in self.params}

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.values})"

    def resources(self) -> frozenset[str]:
        """What this strategy takes over (may depend on parameter values)."""
        return self.uses

    @classmethod
    def form_value(cls, param, settings) -> Any:
        """The value a form starts ``param`` at under the training ``settings``: its default, unless a strategy
        knows that would train the baseline again."""
        return param.default

    def class_sizes(self, counts: np.ndarray) -> np.ndarray:
        """The rows per class this strategy trains on, given the training split's ``counts`` (for the time
        estimate; resamplers change them, everything else trains on the split as it is)."""
        return counts

    def conflict(self, settings) -> str | None:
        """Why this strategy would only repeat what the training ``settings`` already do (None: it would not)."""
        return None

    def check(self) -> None:
        """Raise InputError if this strategy cannot run on this machine (called
        when an experiment is submitted, so the user hears it at once)."""

    def relabelled(self, labels: LabelSet) -> LabelSet:
        """The label set after this strategy's ``relabel`` (merges), for the checks at submit."""
        return labels

    def check_labels(self, labels: LabelSet) -> None:
        """Raise InputError, saying what to do, if this strategy cannot take the recipe's ``labels`` (called
        when an experiment is submitted, with the dataset's classes after the recipe's merges)."""

    def time_factor(self) -> float:
        """Training time of a run relative to the baseline's, per training row (``cost``, unless the
        parameter values change it), for the time estimate."""
        return self.cost

    def files(self) -> tuple[str, ...]:
        """Files on the worker's machine that a run of this strategy reads, as the user gave their paths: an
        executor whose runs train on other machines ships their content (``core.jobs.ray_executor``)."""
        return ()

    def inputs(self) -> dict[str, str]:
        """What besides the parameter values changes results, for run fingerprints:
        outside files' identity, and the strategy's version once raised."""
        return {} if self.version == 1 else {"version": str(self.version)}

    # ----- hooks: the defaults do nothing -----
    def relabel(self, ctx: "RunContext") -> None:
        """Change the label set (merging) or targets, before anything is fitted."""

    def resample(self, ctx: "RunContext", train: "TrainingSet") -> "TrainingSet":
        """Return a changed training set (rows drawn, dropped or generated)."""
        return train

    def sample_weights(self, ctx: "RunContext", train: "TrainingSet") -> np.ndarray | None:
        """Per-row weights multiplied into the training weights."""
        return None

    def head(self, ctx: "RunContext") -> "Head | None":
        return None

    def model(self, ctx: "RunContext", spec: "ModelSpec") -> "ModelSpec":
        return spec

    def loss(self, ctx: "RunContext", train: "TrainingSet") -> "LossSpec | None":
        """The training loss, named (``LossSpec``); the Keras side builds it."""
        return None

    def output_bias(self, ctx: "RunContext", train: "TrainingSet") -> np.ndarray | None:
        return None

    def fit(self, ctx: "RunContext", train: "TrainingSet") -> "Fitted | None":
        """Replace the plain fit (two-stage methods, ensembles), through
        ``ctx.trainer`` (never Keras directly)."""
        return None

    def decide(self, ctx: "RunContext", validation: "Outputs") -> "Decision | None":
        """A decision rule tuned on the validation outputs."""
        return None

    def preview(self, data: "LabeledTexts", *, seed: int = 0, n: int = 5) -> list[dict] | None:
        """A few examples of what this strategy would produce on ``data``, for
        users to judge before training (rows of a small table), or None."""
        return None


@dataclass(frozen=True)
class StrategyInfo:
    """What the UI and CLI need to build forms and flags."""

    name: str
    label: str
    family: str
    help: str
    params: tuple[Param, ...]
    needs_ordinal: bool
    cost: float
    uses: frozenset[str] = field(default_factory=frozenset)
