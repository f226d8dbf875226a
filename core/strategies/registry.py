"""The one registry of strategies; pages, CLI flags and benchmarks list from it."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from core.errors import InputError
from core.strategies.architecture import (
    Bidirectional,
    DenseHead,
    Gru,
    Pool,
    PretrainedVectors,
    Stacked,
    Wider,
)
from core.strategies.anomaly import Anomaly
from core.strategies.augmentation import Augment
from core.strategies.base import Strategy, StrategyInfo
from core.strategies.decision import Threshold
from core.strategies.ensembles import Boosting, EasyEnsemble
from core.strategies.feature_space import FeatureSmote
from core.strategies.losses import ClassBalancedFocal, Focal, LogitAdjusted, PriorBias
from core.strategies.merging import Merge
from core.strategies.ordinal import Coral, OrdinalRegression
from core.strategies.recipe import Recipe, parse_recipe
from core.strategies.sweeps import SETTINGS_STEP
from core.strategies.sampling import (
    BalancedBatches,
    OverUnder,
    RandomOversample,
    RandomUndersample,
)
from core.strategies.weights import ClassWeight

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        ClassWeight, Focal, ClassBalancedFocal, LogitAdjusted, PriorBias,
        RandomOversample, RandomUndersample, OverUnder, BalancedBatches, Augment,
        FeatureSmote, EasyEnsemble, Boosting,
        Stacked, Bidirectional, DenseHead, Gru, Wider, Pool, PretrainedVectors,
        OrdinalRegression, Coral, Threshold, Anomaly, Merge,
    )
}


def strategy_infos() -> list[StrategyInfo]:
    return [StrategyInfo(c.name, c.label, c.family, c.help, c.params, c.needs_ordinal, c.cost, c.uses)
            for c in STRATEGIES.values()]


def form_value(strategy: str, param, settings) -> Any:
    """The value the Experiment form starts a strategy's parameter at (``Strategy.form_value``)."""
    return STRATEGIES[strategy].form_value(param, settings)


def build(recipe: Recipe | str) -> list[Strategy]:
    """Strategy instances for a recipe, checked for unknown names, bad values
    and combinations that would fight over the same thing."""
    recipe = parse_recipe(recipe) if isinstance(recipe, str) else recipe
    if recipe.is_sweep:
        raise InputError(f"{recipe.text()} is a sweep of {recipe.size} recipes; an experiment expands it when it is "
                         "submitted, one recipe per value.")
    strategies: list[Strategy] = []
    for step in recipe.steps:
        cls = STRATEGIES.get(step.name)
        if step.name == SETTINGS_STEP:
            raise InputError(f"{step.text()} changes the training settings, not the model: its runs train with "
                             "them (an experiment's recipe, not a strategy).")
        if cls is None:
            raise InputError(f"unknown strategy {step.name!r}; known: {', '.join(sorted(STRATEGIES))}.")
        strategies.append(cls(**dict(step.params)))
    check_compatible(strategies)
    return strategies


def check_compatible(strategies: list[Strategy]) -> None:
    taken: dict[str, str] = {}
    for s in strategies:
        for resource in sorted(s.resources()):
            if resource in taken:
                raise InputError(f"{taken[resource]} and {s.name} both change the {resource.replace('_', ' ')}; "
                                 "keep one of them in this recipe (compare them as two recipes instead).")
            taken[resource] = s.name
    heads = [s.name for s in strategies if "head" in s.resources()]
    softmax_only = [s.name for s in strategies if getattr(s, "softmax_only", False)]
    if heads and softmax_only:
        raise InputError(f"{softmax_only[0]} works with the usual class-probability output, but {heads[0]} replaces "
                         "it; use them in separate recipes.")


def class_sizes(recipe: Recipe | str, counts) -> np.ndarray:
    """The rows per class a recipe trains on, given the training split's class ``counts``."""
    sizes = np.asarray(counts)
    for s in build(recipe):
        sizes = s.class_sizes(sizes)
    return sizes


def cost(recipe: Recipe | str) -> float:
    """Relative training time of a recipe per training row (baseline = 1)."""
    factor = 1.0
    for s in build(recipe):
        factor *= s.time_factor()
    return factor


def form_ticks(recipes: Iterable[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """How a form of one checkbox per strategy shows ``recipes`` (cloning an experiment): single-strategy recipes
    whose strategy appears once become ticks with their parameter values; the rest (combinations, one strategy
    at several settings, sweeps, settings steps) stay recipe text. The baseline needs no tick: it always runs."""
    from core.strategies.recipe import BASELINE, parse_recipe

    parsed = [(text, parse_recipe(text)) for text in recipes if text != BASELINE]
    singles = [r.steps[0].name for _, r in parsed if len(r.steps) == 1]
    ticks: dict[str, dict[str, Any]] = {}
    rest: list[str] = []
    for text, recipe in parsed:
        if len(recipe.steps) == 1 and singles.count(recipe.steps[0].name) == 1 and recipe.steps[0].name in STRATEGIES \
                and not recipe.is_sweep:
            ticks[recipe.steps[0].name] = dict(recipe.steps[0].params)
        else:
            rest.append(text)
    return ticks, rest
