"""Sweeps over training settings, and the record of an experiment's sweeps.

A recipe may carry one settings step, ``train(learning_rate=0.001,units=32)``: its runs train with the
experiment's settings overridden by the step's values (``split_settings``). That is how a sweep over training
settings becomes recipes like any other — ``focal(gamma=2)+train(learning_rate=0.001|0.003)`` expands as a
strategy sweep does — and each point stays comparable with the baseline, which trains once at the experiment's
own settings. The step is written last and only with values that differ from those settings
(``settings_step_text``), so a point at the base settings is the plain recipe (or the baseline itself).

An experiment-wide settings sweep (the Experiment form's field, the CLI's ``--sweep``, a spec file's
``[training]`` string such as ``learning_rate = "0.001|0.003"``) adds the step to every recipe, the baseline
included (``with_settings_sweep``): the product of the recipes and the swept settings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

from core.errors import InputError
from core.settings import TrainSettings
from core.strategies.base import Param
from core.strategies.recipe import (
    BASELINE,
    Recipe,
    Step,
    Sweep,
    _split_top,
    _sweep_or_value,
    parse_params,
    parse_recipe,
)

SETTINGS_STEP = "train"
# The training settings a recipe's settings step may change, with the Experiment form's ranges.
SETTINGS_PARAMS: dict[str, Param] = {p.name: p for p in (
    Param("learning_rate", "float", 3e-3, "Adam's learning rate", min=1e-6, max=1.0, label="Learning rate"),
    Param("units", "int", 64, "LSTM units", min=2, max=1024, label="LSTM units"),
    Param("embedding_dim", "int", 64, "width of the word embedding", min=2, max=1024, label="Embedding size"),
    Param("epochs", "int", 30, "most epochs (early stopping may end sooner)", min=1, max=100, label="Epochs"),
    Param("batch_size", "int", 128, "rows per training batch", min=8, max=1024, label="Batch size"),
)}


def _step_name(part: str) -> str:
    return part.split("(", 1)[0].strip()


def settings_values(step: Step) -> dict[str, Any]:
    """A settings step's values, checked and typed as ``TrainSettings`` holds them; a setting that cannot be
    swept, or a value out of range, is refused naming it."""
    values = {}
    for key, value in step.params:
        param = SETTINGS_PARAMS.get(key)
        if param is None:
            raise InputError(f"{SETTINGS_STEP}({key}=…): {key} is not a training setting a recipe can change; "
                             f"these can: {', '.join(SETTINGS_PARAMS)}.")
        if isinstance(value, Sweep):
            raise InputError(f"{SETTINGS_STEP}({key}=…): {value.text()} is a sweep; expand the recipe first.")
        values[key] = param.coerce(value, strategy=SETTINGS_STEP)
    return values


def settings_steps(recipe: Recipe) -> list[Step]:
    return [s for s in recipe.steps if s.name == SETTINGS_STEP]


def split_settings(recipe: str, base: TrainSettings) -> tuple[str, TrainSettings]:
    """(``recipe`` without its settings step, the settings its runs train with): ``base`` overridden by the step.
    The rest keeps its text exactly, so a canonical recipe's rest is the canonical recipe of the strategies alone,
    and a recipe without the step comes back unchanged with ``base``."""
    parts = _split_top(recipe, "+")
    if not any(_step_name(p) == SETTINGS_STEP for p in parts):
        return recipe, base
    steps = settings_steps(parse_recipe(recipe))
    if len(steps) > 1:
        raise InputError(f"recipe {recipe!r}: one {SETTINGS_STEP}(...) step at most; put every setting in it.")
    rest = "+".join(p.strip() for p in parts if _step_name(p) != SETTINGS_STEP) or BASELINE
    return rest, replace(base, **settings_values(steps[0]))


def settings_step_text(step: Step, base: TrainSettings | None) -> str:
    """The settings step as a canonical recipe writes it: its values sorted and typed, the ones equal to ``base``
    left out ("" when none is left: the recipe trains at the base settings)."""
    values = settings_values(step)
    if base is not None:
        values = {k: v for k, v in values.items() if getattr(base, k) != v}
    return Step(SETTINGS_STEP, tuple(sorted(values.items()))).text() if values else ""


def parse_settings_sweep(text: str, *, where: str = "sweep") -> dict[str, Sweep]:
    """``learning_rate=0.001|0.003, units=32|64`` (commas, semicolons or lines between settings) as setting →
    sweep; every setting must be one ``SETTINGS_PARAMS`` names and take two or more values."""
    text = (text or "").replace("\n", ",").replace(";", ",")
    return settings_sweep(dict(parse_params(text, name=SETTINGS_STEP, where=where)), where=where)


def settings_sweep(values: Mapping[str, Any], *, where: str = "sweep") -> dict[str, Sweep]:
    """Setting → sweep from values given as text (a spec file's ``"0.001|0.003"``) or parsed, checked: a known
    setting, two or more values each in range."""
    out = {}
    for key, raw in values.items():
        value = _sweep_or_value(raw, where=f"{where}: {key}")
        if key not in SETTINGS_PARAMS:
            raise InputError(f"{where}: {key} cannot be swept; these training settings can: "
                             f"{', '.join(SETTINGS_PARAMS)}.")
        if not isinstance(value, Sweep):
            raise InputError(f"{where}: {key}={raw} has one value; a sweep takes two or more separated by '|' "
                             f"(e.g. {key}={'|'.join(map(str, _example(key)))}).")
        for v in value.values:
            SETTINGS_PARAMS[key].coerce(v, strategy=SETTINGS_STEP)
        out[key] = value
    return out


def _example(key: str) -> tuple:
    return (0.001, 0.003) if key == "learning_rate" else (32, 64)


def with_settings_sweep(recipes: Iterable[str], sweep: Mapping[str, Sweep]) -> tuple[str, ...]:
    """Every recipe, the baseline included, with ``sweep`` added to its settings step: the product of the recipes
    and the swept settings. A setting a recipe's own step already sets is refused (it would be set twice)."""
    if not sweep:
        return tuple(recipes)
    out = []
    for text in dict.fromkeys([BASELINE, *recipes]):
        recipe = parse_recipe(text)
        own = dict(settings_steps(recipe)[0].params) if settings_steps(recipe) else {}
        twice = sorted(set(own) & set(sweep))
        if twice:
            raise InputError(f"recipe {text!r} already sets {', '.join(twice)}; sweep it in the recipe or in the "
                             "training settings, not both.")
        step = Step(SETTINGS_STEP, tuple(sorted({**own, **sweep}.items())))
        out.append(Recipe(tuple(s for s in recipe.steps if s.name != SETTINGS_STEP) + (step,)).text())
    return tuple(out)


@dataclass(frozen=True)
class SweepPoint:
    recipe: str  # the point's canonical recipe (the baseline where it is the base settings and no strategy)
    values: tuple[tuple[str, Any], ...]  # swept parameter → the value it takes here


@dataclass(frozen=True)
class SweepGroup:
    """One sweep as submitted: its text and the recipes it expanded into, so Compare can show them together."""

    source: str
    points: tuple[SweepPoint, ...]

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.points[0].values) if self.points else ()

    def to_json(self) -> dict:
        return {"source": self.source, "points": [{"recipe": p.recipe, "values": [list(v) for v in p.values]}
                                                  for p in self.points]}

    @classmethod
    def from_json(cls, payload: Mapping) -> "SweepGroup":
        return cls(str(payload["source"]), tuple(SweepPoint(str(p["recipe"]), tuple((str(k), v) for k, v in
                                                                                     p["values"]))
                                                 for p in payload.get("points", ())))
