"""Experiments: one dataset version + one split spec + recipes × seeds + shared
training settings. Every recipe × seed is a run; the references are added for
every seed. Submitting an identical run again reuses its finished result.

A recipe may be a sweep (``focal(gamma=0.5|1|2)``, ``core.strategies.recipe``)
or carry a settings step (``train(learning_rate=0.001)``,
``core.strategies.sweeps``): submitting expands every sweep into its points,
each an ordinary recipe compared with the baseline, and keeps the sweeps as
``ExperimentSpec.sweeps`` so Compare can show each one's points together."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata

from core.data.split import SPLIT_VERSION
from core.errors import InputError
from core.jobs.store import Store
from core.runs.pipeline import check_label_type
from core.runs.references import ALWAYS, REFERENCES, is_reference
from core.settings import ENV_PREFIX, TrainSettings, get_settings, refuse_when_read_only
from core.strategies.base import LabelSet
from core.strategies.recipe import BASELINE, Recipe, expand, parse_recipe
from core.strategies.registry import build
from core.strategies.sweeps import (
    SETTINGS_STEP,
    SweepGroup,
    SweepPoint,
    settings_step_text,
    settings_steps,
    split_settings,
)

VERSIONED = ("tensorflow-cpu", "tensorflow", "keras", "scikit-learn", "imbalanced-learn", "numpy")


def _default(name: str):
    """A default taken from ``core.settings`` (so environment overrides apply) when the spec is made."""
    return field(default_factory=lambda: getattr(get_settings(), name))


@dataclass(frozen=True)
class ExperimentSpec:
    dataset_id: str
    recipes: tuple[str, ...] = (BASELINE,)
    seeds: int = _default("default_seeds")
    settings: TrainSettings = field(default_factory=TrainSettings)
    test_share: float = _default("test_share")
    validation_share: float = _default("validation_share")
    references: tuple[str, ...] = ALWAYS
    name: str = ""
    # how its splits are drawn (``core.data.split``): kept for the experiment's life so later runs stay paired
    split_version: int = SPLIT_VERSION
    # the sweeps it was submitted with and the recipes each expanded into (set by ``validate``; none before sweeps)
    sweeps: tuple[SweepGroup, ...] = ()

    def to_json(self) -> dict:
        d = asdict(self)
        d["settings"] = self.settings.to_json()
        d["sweeps"] = [group.to_json() for group in self.sweeps]
        return d

    @classmethod
    def from_json(cls, payload: dict) -> "ExperimentSpec":
        payload = dict(payload)
        payload["settings"] = TrainSettings.from_json(payload.get("settings", {}))
        payload["recipes"] = tuple(payload.get("recipes", (BASELINE,)))
        payload["references"] = tuple(payload.get("references", ALWAYS))
        payload.setdefault("split_version", 2)  # stored before the field: drawn by split version 2
        payload["sweeps"] = tuple(SweepGroup.from_json(g) for g in payload.get("sweeps", ()))
        return cls(**payload)

    def recipes_as_written(self) -> tuple[str, ...]:
        """The recipes as a user would write this experiment again: the recipes no sweep made (the baseline
        first), then each sweep's source. Submitting them expands to the same recipes; without sweeps they are
        ``recipes``."""
        swept = {p.recipe for group in self.sweeps for p in group.points}
        return tuple(dict.fromkeys([*(r for r in self.recipes if r not in swept), *(g.source for g in self.sweeps)]))


def library_versions() -> dict[str, str]:
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def canonical_recipe(text: str | Recipe, settings: TrainSettings | None = None) -> str:
    """The recipe's text with every parameter spelled out, checked by the registry. A settings step
    (``train(...)``) goes last, its values typed; given the experiment's ``settings``, only the values that differ
    from them are kept (none left: the step is dropped, the recipe trains at the base settings)."""
    recipe = parse_recipe(text) if isinstance(text, str) else text
    own = settings_steps(recipe)
    if len(own) > 1:
        raise InputError(f"recipe {recipe.text()!r}: one {SETTINGS_STEP}(...) step at most; put every setting in it.")
    strategy_steps = Recipe(tuple(s for s in recipe.steps if s.name != SETTINGS_STEP))
    parts = []
    for step, strategy in zip(strategy_steps.steps, build(strategy_steps)):
        given = dict(step.params)
        shown = {k: v for k, v in strategy.values.items() if k in given}
        inner = ",".join(f"{k}={json.dumps(v, separators=(',', ':'), sort_keys=True) if not isinstance(v, str) else v}"
                         for k, v in shown.items())
        parts.append(f"{step.name}({inner})" if inner else step.name)
    if own and (tail := settings_step_text(own[0], settings)):
        parts.append(tail)
    return "+".join(parts) or BASELINE


# Raised whenever a change to the code changes a finished run's numbers (training or
# evaluation), so results stored by older code are trained again rather than reused.
# 2: minority_recall is of the training split's rarest class, not of the resampled rows.
# 3: validation and test scores from a graph function (was eager), the "pool" strategy.
# 4: one macro-F1 (classes present in the true labels) for scores, early stopping and tuning.
RESULTS_VERSION = 4


def run_fingerprint(spec: ExperimentSpec, recipe: str, seed: int) -> str:
    """Everything that affects a run's numbers: dataset, split (shares and the
    split code's version), recipe with all parameter values, training settings,
    seed, library versions and the version of the code's results
    (``RESULTS_VERSION``). A recipe's settings step counts as the settings it
    trains with, not as recipe text: a sweep point is the same run as its recipe
    submitted by hand with those settings (and finished ones are reused)."""
    if not is_reference(recipe):
        strategies, settings = split_settings(recipe, spec.settings)
        spec, recipe = replace(spec, settings=settings), strategies
    full = [] if is_reference(recipe) else [dict(name=s.name, **s.values, **s.inputs()) for s in build(recipe)]
    payload = {
        "dataset": spec.dataset_id, "split": [spec.test_share, spec.validation_share, spec.split_version], "recipe": recipe,
        "params": full, "settings": None if is_reference(recipe) else spec.settings.to_json(), "seed": seed,
        "versions": library_versions(), "results_version": RESULTS_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def settings_conflict(recipe: str, settings: TrainSettings) -> str | None:
    """Why ``recipe`` would only train the baseline again under ``settings`` (each strategy's ``conflict``;
    None when it would not). Said on the Experiment page before submit, refused at submit."""
    strategies, settings = split_settings(recipe, settings)
    for strategy in build(strategies):
        reason = strategy.conflict(settings)
        if reason:
            return f"{recipe}: {reason}"
    return None


SWEEP_CAP_ENV = ENV_PREFIX + "MAX_SWEEP_RECIPES"


def check_sweep_size(spec: ExperimentSpec) -> int:
    """How many recipes ``spec``'s sweeps make (0 without one), refused above the ``max_sweep_recipes`` setting
    with the size and the cap — counted before anything is expanded."""
    size = 0
    for text in spec.recipes:
        recipe = parse_recipe(text)
        size += recipe.size if recipe.is_sweep else 0
    cap = get_settings().max_sweep_recipes
    if size > cap:
        runs = f"{size * spec.seeds} runs at {spec.seeds} seed{'s' * (spec.seeds != 1)}"
        raise InputError(f"the sweeps make {size} recipes ({runs}), more "
                         f"than the cap of {cap} recipes per experiment; sweep fewer values, or raise the cap "
                         f"({SWEEP_CAP_ENV}).")
    return size


def _expand_one(text: str, settings: TrainSettings) -> tuple[list[str], SweepGroup | None]:
    """One recipe as written: its canonical points and, for a sweep, the group that remembers them."""
    recipe = parse_recipe(text)
    if not recipe.is_sweep:
        return [canonical_recipe(recipe, settings)], None
    points = tuple(SweepPoint(canonical_recipe(point, settings), values) for point, values in expand(recipe))
    return [p.recipe for p in points], SweepGroup(recipe.text(), points)


def review(spec: ExperimentSpec) -> tuple[ExperimentSpec | None, list[str]]:
    """What submitting ``spec`` would make, before it is submitted: the spec with every sweep expanded (recipes
    canonical, the baseline first, no duplicates, the sweeps remembered) — None when anything is wrong — and every
    problem found, one per recipe: a sweep above the cap, a recipe the registry refuses, a recipe that would
    only train the baseline again."""
    try:
        check_sweep_size(spec)
    except InputError as exc:
        return None, [str(exc)]
    recipes, groups, problems = [BASELINE], [], []
    for text in spec.recipes:
        try:
            expanded, group = _expand_one(text, spec.settings)
        except InputError as exc:
            problems.append(str(exc))
            continue
        problems += [c for r in expanded if (c := settings_conflict(r, spec.settings))]
        recipes += expanded
        groups += [group] if group and group.source not in {g.source for g in groups} else []
    if problems:
        return None, problems
    return replace(spec, recipes=tuple(dict.fromkeys(recipes)), sweeps=tuple(groups)), []


def expand_sweeps(spec: ExperimentSpec) -> ExperimentSpec:
    """``review``'s expanded spec, or its first problem raised (the CLI and ``validate``)."""
    expanded, problems = review(spec)
    if problems:
        raise InputError(problems[0])
    return expanded


def label_problems(recipes, labels: LabelSet) -> list[str]:
    """Why each recipe that cannot take the dataset's ``labels`` cannot (``Strategy.check_labels``, after the
    recipe's own merges), one sentence per recipe saying what to do; none when every recipe can. The
    Experiment page shows them before submit; ``validate`` refuses the first."""
    problems = []
    for recipe in recipes:
        try:
            strategies = build(split_settings(recipe, TrainSettings())[0])
            merged = labels
            for strategy in strategies:
                merged = strategy.relabelled(merged)
            for strategy in strategies:
                strategy.check_labels(merged)
        except InputError as exc:
            problems.append(f"{recipe}: {exc}" if not str(exc).startswith(recipe) else str(exc))
    return problems


def validate(store: Store, spec: ExperimentSpec) -> ExperimentSpec:
    """Check recipes against the registry and the dataset's label type; expand
    sweeps, put the baseline first and drop duplicates."""
    max_seeds = get_settings().max_seeds
    if spec.seeds < 1 or spec.seeds > max_seeds:
        raise InputError(f"seeds must be between 1 and {max_seeds} (got {spec.seeds}).")
    if not 0.05 <= spec.test_share <= 0.5 or not 0.05 <= spec.validation_share <= 0.4:
        raise InputError("test share must be 0.05–0.5 and validation share 0.05–0.4.")
    data_info = store.dataset_info(spec.dataset_id)
    spec = expand_sweeps(spec)
    for recipe in spec.recipes:
        strategies = build(split_settings(recipe, spec.settings)[0])
        check_label_type(strategies, _LabelType(bool(data_info["ordinal"]), bool(data_info["has_target"])))
        for strategy in strategies:
            strategy.check()
    labels = LabelSet(tuple(data_info["classes"]), store.class_counts(spec.dataset_id), bool(data_info["ordinal"]))
    if problems := label_problems(spec.recipes, labels):
        raise InputError(problems[0])
    unknown = [r for r in spec.references if r not in REFERENCES]
    if unknown:
        raise InputError(f"unknown reference {', '.join(unknown)}; known: {', '.join(REFERENCES)}.")
    references = tuple(dict.fromkeys(ALWAYS + tuple(spec.references)))
    return replace(spec, references=references)


@dataclass(frozen=True)
class _LabelType:
    ordinal: bool
    has_target: bool

    @property
    def target(self):
        return True if self.has_target else None


def submit(store: Store, spec: ExperimentSpec) -> int:
    """Store the experiment and queue (or reuse) one run per recipe × seed."""
    refuse_when_read_only("submitting an experiment")  # before validating: the mode is the first thing to say
    spec = validate(store, spec)
    name = spec.name or (f"{len(spec.recipes)} recipe{'s' * (len(spec.recipes) > 1)} × "
                         f"{spec.seeds} seed{'s' * (spec.seeds > 1)}")
    experiment_id = store.add_experiment(name=name, dataset_id=spec.dataset_id, spec=spec.to_json())
    for seed in range(spec.seeds):
        for recipe in spec.references + spec.recipes:
            store.add_run(experiment_id=experiment_id, recipe=recipe, seed=seed,
                          fingerprint=run_fingerprint(spec, recipe, seed))
    return experiment_id


def add_seeds(store: Store, experiment_id: int, to: int) -> int:
    """Bring every recipe (and reference) of an experiment to ``to`` seeds: the
    missing seeds' runs are queued, or reuse an identical finished run by
    fingerprint. Returns how many runs were added."""
    refuse_when_read_only("adding seeds")
    experiment = store.experiment(experiment_id)
    spec = ExperimentSpec.from_json(experiment["spec"])
    max_seeds = get_settings().max_seeds
    if not spec.seeds < to <= max_seeds:
        raise InputError(f"experiment {experiment_id} has {spec.seeds} seeds; give a larger number, at most "
                         f"{max_seeds} (e.g. --to {min(max(spec.seeds + 2, 5), max_seeds)}).")
    have = {(r.recipe, r.seed) for r in store.runs(experiment=experiment_id)}
    added = 0
    for seed in range(to):
        for recipe in spec.references + spec.recipes:
            if (recipe, seed) not in have:
                store.add_run(experiment_id=experiment_id, recipe=recipe, seed=seed,
                              fingerprint=run_fingerprint(spec, recipe, seed))
                added += 1
    store.update_experiment_spec(experiment_id, {**experiment["spec"], "seeds": int(to)})
    return added
