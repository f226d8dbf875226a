"""A merge's effect: predicted from an unmerged recipe, measured by retraining.

``core.results.merge_suggestions`` holds the arithmetic (symmetric confusion, mappings, the
predicted effect on one set of probabilities). This module connects it to the
store: it pools an unmerged recipe's finished runs, submits the experiment
that retrains the merge, finds that experiment again, and lays the three sets
of numbers side by side on the merged label set (see "Merges" in
docs/architecture.md):

* ``unmerged`` — the unmerged model's decided predictions mapped onto the
  merged classes (what the model already does, scored the merged way);
* ``predicted`` — its test probabilities summed into the merged classes, then
  the argmax (``core.results.merge_suggestions.predicted_effect``);
* ``measured`` — a model retrained on the merged labels, same seeds and split.

Suggestions are ranked by the same "predicted − unmerged" macro-F1 as the
effect table shows for their mapping (``core.results.merge_suggestions.merge_gain``,
mean over seeds), never by a merged macro-F1 minus a macro-F1 over more classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from core.data.label_mapping import merged_classes, validate_mapping
from core.errors import InputError
from core.jobs.experiments import ExperimentSpec, submit
from core.jobs.records import Status
from core.jobs.run_files import load_predictions, load_result
from core.jobs.store import Store
from core.results.merge_suggestions import (
    MergeSuggestion,
    SeedOutputs,
    predicted_effect,
    suggest_merges,
    symmetric_confusion,
    unmerged_effect,
)
from core.runs.references import is_reference
from core.settings import refuse_when_read_only
from core.strategies.recipe import BASELINE, Recipe, Step, parse_recipe

MERGE_STEP = "merge"
OVERALL = ("macro_f1", "balanced_accuracy", "accuracy")
PER_CLASS = ("recall", "f1")
SOURCES = ("unmerged", "predicted", "measured")


@dataclass(frozen=True)
class MergeInputs:
    """An unmerged recipe's finished runs, ready for merge suggestions."""

    experiment_id: int
    recipe: str
    classes: tuple[str, ...]
    ordinal: bool
    confusion: np.ndarray  # summed over the seeds' test sets
    seeds: tuple[SeedOutputs, ...]

    @property
    def similarity(self) -> np.ndarray:
        return symmetric_confusion(self.confusion)


@dataclass(frozen=True)
class MergeExperiment:
    """An experiment that retrains one merge: its id, the recipe that does it,
    and how many of that recipe's runs have finished."""

    experiment_id: int
    recipe: str
    finished: int
    total: int

    @property
    def done(self) -> bool:
        return self.total > 0 and self.finished == self.total


def is_merge_recipe(recipe: str) -> bool:
    return not is_reference(recipe) and any(step.name == MERGE_STEP for step in parse_recipe(recipe).steps)


def mergeable_recipes(store: Store, experiment_id: int) -> list[str]:
    """LSTM recipes of the experiment with at least one finished run, trained
    on the original classes (recipes that already merge are left out)."""
    recipes: dict[str, None] = {}
    for run in store.runs(experiment=experiment_id, status=Status.FINISHED):
        if not is_reference(run.recipe) and not is_merge_recipe(run.recipe):
            recipes.setdefault(run.recipe, None)
    return list(recipes)


def merge_inputs(store: Store, experiment_id: int, recipe: str) -> MergeInputs:
    """Pool the finished runs of ``recipe``: confusion summed over seeds, and
    each seed's test probabilities for the predicted effect."""
    info = store.dataset_info(store.experiment(experiment_id)["dataset_id"])
    classes = tuple(info["classes"])
    runs = store.runs(experiment=experiment_id, recipe=recipe, status=Status.FINISHED)
    if not runs:
        raise InputError(f"recipe {recipe!r} has no finished run in experiment {experiment_id}; "
                         "wait for it on the Runs page or pick another recipe.")
    confusion = np.zeros((len(classes), len(classes)))
    seeds = []
    for run in sorted(runs, key=lambda r: r.seed):
        result = load_result(store, run.result_dir)
        if tuple(result["classes"]) != classes:
            raise InputError(f"recipe {recipe!r} was trained on other classes ({', '.join(result['classes'])}); "
                             "merge suggestions need a recipe trained on the original classes.")
        confusion += np.asarray(result["evaluation"]["confusion"], dtype=float)
        outputs = load_predictions(store, run.result_dir)
        seeds.append(SeedOutputs(run.seed, np.asarray(outputs["proba"], dtype=float),
                                 np.asarray(outputs["y_true"], dtype=int), np.asarray(outputs["y_pred"], dtype=int)))
    return MergeInputs(experiment_id, recipe, classes, bool(info["ordinal"]), confusion, tuple(seeds))


def suggestions(inputs: MergeInputs, *, top: int = 10) -> list[MergeSuggestion]:
    """Merge candidates ranked by predicted − unmerged macro-F1 on the merged
    labels, mean over the seeds (what ``effect_table`` shows for the mapping)."""
    return suggest_merges(inputs.confusion, inputs.classes, seeds=inputs.seeds, ordinal=inputs.ordinal, top=top)


GAIN_COLUMN = "macro-F1 gain (predicted − unmerged)"
SUGGESTION_COLUMNS = ["classes", "confusion", "confused as", GAIN_COLUMN]


def _confused_as_text(suggestion: MergeSuggestion, *, shown: int = 4) -> str:
    """'b → c 36% · c → b 30%': share of each true class's test rows predicted as the other."""
    parts = [f"{a} → {b} {share:.0%}" for a, b, share in suggestion.confused_as[:shown]]
    more = len(suggestion.confused_as) - shown
    return " · ".join(parts) + (f" · … {more} more" if more > 0 else "")


def suggestions_frame(found: Sequence[MergeSuggestion]) -> pd.DataFrame:
    return pd.DataFrame([{"classes": " + ".join(s.classes), "confusion": s.confusion,
                          "confused as": _confused_as_text(s), GAIN_COLUMN: s.predicted_macro_f1_gain}
                         for s in found], columns=SUGGESTION_COLUMNS)


def build_mapping(selected: Sequence[str], group_name: str, classes: Sequence[str], *, ordinal: bool) -> dict[str, str]:
    """The mapping that merges ``selected`` into ``group_name`` (other classes
    keep their names), checked with ``core.results.merge_suggestions.validate_mapping``."""
    selected = [c for c in classes if c in set(selected)]
    if len(selected) < 2:
        raise InputError("pick at least two classes to merge.")
    name = (group_name or "").strip() or "+".join(selected)
    clash = [c for c in classes if c == name and c not in selected]
    if clash:
        raise InputError(f"the group name {name!r} is already the name of another class; choose a new name.")
    mapping = {c: name for c in selected}
    validate_mapping(mapping, classes, ordinal=ordinal)
    return mapping


def merge_recipe(recipe: str, mapping: Mapping[str, str]) -> str:
    """``recipe`` with a ``merge(mapping=<json>)`` step appended (just the merge for the baseline)."""
    step = Step(MERGE_STEP, (("mapping", dict(sorted(mapping.items()))),))
    return Recipe(parse_recipe(recipe).steps + (step,)).text()


def merge_spec(store: Store, experiment_id: int, recipe: str, mapping: Mapping[str, str]) -> ExperimentSpec:
    """Same dataset, seeds, split and settings as the source experiment; the
    recipes ``merge(mapping=…)`` and ``<recipe>+merge(mapping=…)``."""
    experiment = store.experiment(experiment_id)
    spec = ExperimentSpec.from_json(experiment["spec"])
    recipes = tuple(dict.fromkeys([merge_recipe(BASELINE, mapping), merge_recipe(recipe, mapping)]))
    groups = ", ".join(sorted(set(mapping.values())))
    return replace(spec, recipes=recipes, name=f"merge {groups} — {recipe} (from #{experiment_id})"[:200])


def submit_merge(store: Store, experiment_id: int, recipe: str, mapping: Mapping[str, str]) -> int:
    """Queue the experiment that retrains this merge; returns its id."""
    refuse_when_read_only("training a merge")
    return submit(store, merge_spec(store, experiment_id, recipe, mapping))


def _same_training(a: dict, b: dict) -> bool:
    keys = ("seeds", "settings", "test_share", "validation_share")
    return all(a.get(k) == b.get(k) for k in keys)


def _merge_of(candidate: str, recipe: str, full_mapping: Mapping[str, str], classes: Sequence[str]) -> bool:
    """True when ``candidate`` is ``recipe`` plus one merge step with this mapping."""
    if is_reference(candidate):
        return False
    steps = parse_recipe(candidate).steps
    merges = [s for s in steps if s.name == MERGE_STEP]
    if len(merges) != 1:
        return False
    rest = Recipe(tuple(s for s in steps if s.name != MERGE_STEP)).text()
    if rest != parse_recipe(recipe).text():
        return False
    raw = dict(merges[0].params).get("mapping", {})
    try:
        found = validate_mapping({str(k): str(v) for k, v in dict(raw).items()}, classes, ordinal=False)
    except (InputError, TypeError, ValueError):
        return False
    return found == dict(full_mapping)


def merge_experiments(store: Store, experiment_id: int, recipe: str,
                      mapping: Mapping[str, str]) -> list[MergeExperiment]:
    """Experiments on the same dataset (this one included), with the same seeds
    and training settings, whose recipes retrain ``recipe`` with this merge;
    newest first."""
    source = store.experiment(experiment_id)
    classes = tuple(store.dataset_info(source["dataset_id"])["classes"])
    full = {c: mapping.get(c, c) for c in classes}
    found = []
    for experiment in store.experiments(dataset_id=source["dataset_id"]):
        if not _same_training(experiment["spec"], source["spec"]):
            continue
        for candidate in experiment["spec"].get("recipes", ()):
            if _merge_of(candidate, recipe, full, classes):
                runs = store.runs(experiment=experiment["id"], recipe=candidate)
                found.append(MergeExperiment(experiment["id"], candidate,
                                             sum(r.status is Status.FINISHED for r in runs), len(runs)))
                break
    return found


def _effect_rows(seed: int, source: str, effect: Mapping) -> list[dict]:
    rows = [{"seed": seed, "source": source, "metric": m, "class": "", "value": float(effect[m])} for m in OVERALL]
    for metric in PER_CLASS:
        rows += [{"seed": seed, "source": source, "metric": metric, "class": cls, "value": float(v)}
                 for cls, v in effect[metric].items()]
    return rows


def predicted_per_seed(inputs: MergeInputs, mapping: Mapping[str, str]) -> pd.DataFrame:
    """Long table (seed, source, metric, class, value) of the unmerged and the
    predicted numbers, both on the merged label set, one set per seed."""
    rows: list[dict] = []
    for s in inputs.seeds:
        rows += _effect_rows(s.seed, "predicted", predicted_effect(s.proba, s.y_true, inputs.classes, mapping))
        rows += _effect_rows(s.seed, "unmerged", unmerged_effect(s.y_pred, s.y_true, inputs.classes, mapping))
    return pd.DataFrame(rows, columns=["seed", "source", "metric", "class", "value"])


def measured_per_seed(store: Store, merged: MergeExperiment, merged_names: Sequence[str]) -> pd.DataFrame:
    """The retrained runs' stored metrics, in the same long shape."""
    runs = store.runs(experiment=merged.experiment_id, recipe=merged.recipe, status=Status.FINISHED)
    seed_of = {r.id: r.seed for r in runs}
    metrics = store.metrics(list(seed_of))
    rows = []
    for row in metrics.itertuples(index=False):
        if row.scope == "overall" and row.name in OVERALL:
            cls = ""
        elif row.scope.startswith("class:") and row.name in PER_CLASS and row.scope[6:] in merged_names:
            cls = row.scope[6:]
        else:
            continue
        value = math.nan if row.value is None else float(row.value)
        rows.append({"seed": seed_of[row.run_id], "source": "measured", "metric": row.name, "class": cls,
                     "value": value})
    return pd.DataFrame(rows, columns=["seed", "source", "metric", "class", "value"])


def effect_table(per_seed: pd.DataFrame, merged_names: Sequence[str]) -> pd.DataFrame:
    """Mean over seeds per metric (rows) and source (columns), plus the change
    from unmerged to predicted (and to measured when there is one)."""
    order = [(m, "") for m in OVERALL] + [(m, c) for m in PER_CLASS for c in merged_names]
    means = per_seed.groupby(["metric", "class", "source"], sort=False)["value"].mean().unstack("source")
    means = means.reindex(pd.MultiIndex.from_tuples(order, names=["metric", "class"]))
    columns = [s for s in SOURCES if s in means.columns and means[s].notna().any()]
    table = means[columns].copy()
    table.columns.name = None
    seeds = per_seed.groupby("source")["seed"].nunique()
    if "predicted" in table:
        table["predicted − unmerged"] = table["predicted"] - table["unmerged"]
    if "measured" in table:
        table["measured − unmerged"] = table["measured"] - table["unmerged"]
        table["measured − predicted"] = table["measured"] - table["predicted"]
    table = table.reset_index()
    table.attrs["seeds"] = {s: int(n) for s, n in seeds.items()}
    return table


def per_seed_table(per_seed: pd.DataFrame) -> pd.DataFrame:
    """The long per-seed table with one column per source (unmerged, predicted, measured)."""
    wide = per_seed.pivot_table(index=["metric", "class", "seed"], columns="source", values="value", sort=False)
    wide = wide[[s for s in SOURCES if s in wide.columns]]
    wide.columns.name = None
    return wide.reset_index()


@dataclass(frozen=True)
class MergeEffect:
    """Everything the Merge explorer shows for one mapping."""

    mapping: dict[str, str]
    merged_names: tuple[str, ...]
    table: pd.DataFrame  # see effect_table
    per_seed: pd.DataFrame  # long, every source
    experiments: tuple[MergeExperiment, ...]  # experiments retraining this merge, newest first


def merge_effect(store: Store, inputs: MergeInputs, mapping: Mapping[str, str]) -> MergeEffect:
    """Predicted effect per seed and its mean beside the unmerged numbers, and
    the measured effect from the newest experiment that retrained this merge."""
    full = validate_mapping(mapping, inputs.classes, ordinal=inputs.ordinal)
    names = merged_classes(full, inputs.classes)
    per_seed = predicted_per_seed(inputs, full)
    experiments = merge_experiments(store, inputs.experiment_id, inputs.recipe, full)
    measured = next((e for e in experiments if e.finished), None)
    if measured is not None:
        per_seed = pd.concat([per_seed, measured_per_seed(store, measured, names)], ignore_index=True)
    return MergeEffect(dict(mapping), names, effect_table(per_seed, names), per_seed, tuple(experiments))
