"""Fit once, decide twice: a run whose recipe differs from another only by a
decision rule tuned on validation (``threshold``) decides on that run's model
instead of training the same model again.

Same data, split, settings and seed give the same model (the pipeline seeds
everything per run; a test checks the decisions agree with training), so the
only work left is tuning the rule on the stored validation outputs and
applying it to the stored test outputs: milliseconds instead of a fit. In the
benchmark experiment at the product defaults, ``threshold``'s runs were an
eighth of the training time.

The worker looks for the finished run (``find``) when it makes the task; the
training side decides (``core.jobs.training``) and the worker links the
model file into the new run's folder (``core.jobs.runner.write_result``).
Without such a run — not finished yet, stored before validation outputs were
kept, another head or a relabelled label set — the run trains as before.

TensorFlow-free: the worker imports it."""

from __future__ import annotations

import numpy as np

from core.data.split import Split
from core.errors import InputError
from core.jobs.run_files import load_optional_json, load_predictions, load_result
from core.jobs.store import Store
from core.jobs.tasks import SharedFit
from core.runs.references import is_reference
from core.strategies.recipe import Recipe, parse_recipe
from core.strategies.registry import build
from core.strategies.sweeps import SETTINGS_STEP

DECIDE_ONLY = frozenset({"decide"})


def base_recipe(recipe: str) -> str | None:
    """The recipe that trains the model ``recipe`` decides on: ``recipe`` without its steps that only change
    the decision (``threshold``); None when it has none, or is a reference. ``canonical_recipe`` of it is the
    base run's recipe text (the baseline when nothing else is left)."""
    if is_reference(recipe):
        return None
    parsed = parse_recipe(recipe)
    steps = [step for step in parsed.steps if step.name != SETTINGS_STEP]
    kept = [step for step, strategy in zip(steps, build(Recipe(tuple(steps))))
            if strategy.resources() != DECIDE_ONLY]
    if len(kept) == len(steps):
        return None
    return Recipe(tuple(kept) + tuple(s for s in parsed.steps if s.name == SETTINGS_STEP)).text()


def find(store: Store, spec, run, split: Split) -> SharedFit | None:
    """The finished run whose model ``run`` can decide on, with its stored outputs (None: train as usual)."""
    from core.jobs.experiments import canonical_recipe, run_fingerprint

    base = base_recipe(run.recipe)
    if base is None:
        return None
    fingerprint = run_fingerprint(spec, canonical_recipe(base, spec.settings), run.seed)
    done = store.finished_run_with(fingerprint)
    if done is None:
        return None
    try:
        predictions, summary = load_predictions(store, done.result_dir), load_result(store, done.result_dir)
    except (OSError, ValueError):
        return None
    summary.pop("evaluation", None)
    usable = ("validation_proba" in predictions and summary.get("kind") == "lstm"
              and (summary.get("head") or {}).get("kind") == "softmax" and not summary.get("merge_map")
              and np.array_equal(predictions["validation_rows"], split.validation)
              and np.array_equal(predictions["test_rows"], split.test)
              and (store.path_inside(done.result_dir) / "model.keras").is_file())
    if not usable:
        return None
    return SharedFit(run_id=done.id, result_dir=done.result_dir, validation_proba=predictions["validation_proba"],
                     test_proba=predictions["proba"], summary=summary,
                     history=load_optional_json(store, done.result_dir, "history"),
                     encoder=load_optional_json(store, done.result_dir, "encoder"))


def shares_model(recipes: list[str] | tuple[str, ...], settings=None) -> dict[str, str]:
    """For the time estimate: each recipe of an experiment that decides on the model of another of its recipes,
    mapped to that recipe (its runs cost a run's start, not a fit)."""
    from core.jobs.experiments import canonical_recipe

    present = set(recipes)
    shared = {}
    for recipe in recipes:
        try:
            base = base_recipe(recipe)
            if base is not None and canonical_recipe(base, settings) in present:
                shared[recipe] = canonical_recipe(base, settings)
        except InputError:  # a recipe the registry refuses is reported elsewhere; it shares nothing
            continue
    return shared

