"""Experiments: one dataset version + one split spec + recipes × seeds + shared
training settings. Every recipe × seed is a run; the references are added for
every seed. Submitting an identical run again reuses its finished result."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import metadata

from core.data.split import SPLIT_VERSION
from core.errors import InputError
from core.jobs.store import Store
from core.runs.pipeline import check_label_type
from core.runs.references import ALWAYS, REFERENCES, is_reference
from core.settings import TrainSettings, get_settings, refuse_when_read_only
from core.strategies.recipe import BASELINE, parse_recipe
from core.strategies.registry import build

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

    def to_json(self) -> dict:
        d = asdict(self)
        d["settings"] = self.settings.to_json()
        return d

    @classmethod
    def from_json(cls, payload: dict) -> "ExperimentSpec":
        payload = dict(payload)
        payload["settings"] = TrainSettings.from_json(payload.get("settings", {}))
        payload["recipes"] = tuple(payload.get("recipes", (BASELINE,)))
        payload["references"] = tuple(payload.get("references", ALWAYS))
        payload.setdefault("split_version", 2)  # stored before the field: drawn by split version 2
        return cls(**payload)


def library_versions() -> dict[str, str]:
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def canonical_recipe(text: str) -> str:
    """The recipe's text with every parameter spelled out, checked by the registry."""
    recipe = parse_recipe(text)
    strategies = build(recipe)
    parts = []
    for step, strategy in zip(recipe.steps, strategies):
        given = dict(step.params)
        shown = {k: v for k, v in strategy.values.items() if k in given}
        inner = ",".join(f"{k}={json.dumps(v, separators=(',', ':'), sort_keys=True) if not isinstance(v, str) else v}"
                         for k, v in shown.items())
        parts.append(f"{step.name}({inner})" if inner else step.name)
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
    (``RESULTS_VERSION``)."""
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
    for strategy in build(recipe):
        reason = strategy.conflict(settings)
        if reason:
            return f"{recipe}: {reason}"
    return None


def validate(store: Store, spec: ExperimentSpec) -> ExperimentSpec:
    """Check recipes against the registry and the dataset's label type; put
    the baseline first and drop duplicates."""
    max_seeds = get_settings().max_seeds
    if spec.seeds < 1 or spec.seeds > max_seeds:
        raise InputError(f"seeds must be between 1 and {max_seeds} (got {spec.seeds}).")
    if not 0.05 <= spec.test_share <= 0.5 or not 0.05 <= spec.validation_share <= 0.4:
        raise InputError("test share must be 0.05–0.5 and validation share 0.05–0.4.")
    data_info = store.dataset_info(spec.dataset_id)
    recipes: list[str] = [BASELINE]
    for text in spec.recipes:
        recipe = canonical_recipe(text)
        strategies = build(recipe)
        check_label_type(strategies, _LabelType(bool(data_info["ordinal"]), bool(data_info["has_target"])))
        for strategy in strategies:
            strategy.check()
        conflict = settings_conflict(recipe, spec.settings)
        if conflict:
            raise InputError(conflict)
        if recipe not in recipes:
            recipes.append(recipe)
    unknown = [r for r in spec.references if r not in REFERENCES]
    if unknown:
        raise InputError(f"unknown reference {', '.join(unknown)}; known: {', '.join(REFERENCES)}.")
    references = tuple(dict.fromkeys(ALWAYS + tuple(spec.references)))
    return ExperimentSpec(**{**spec.__dict__, "recipes": tuple(recipes), "references": references})


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
