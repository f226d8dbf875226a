"""An experiment's results, shaped for tables, figures and reports."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.jobs.records import Status
from core.jobs.run_files import load_predictions
from core.jobs.store import Store
from core.runs.evaluate import HEADLINE_METRICS, ORDINAL_METRICS


@dataclass(frozen=True)
class ExperimentResults:
    experiment: dict
    runs: pd.DataFrame  # one row per run: id, recipe, seed, status, result_dir
    metrics: pd.DataFrame  # long: run_id, recipe, seed, scope, name, value
    classes: tuple[str, ...]
    ordinal: bool

    @property
    def recipes(self) -> list[str]:
        return list(dict.fromkeys(self.runs["recipe"]))

    @property
    def finished(self) -> pd.DataFrame:
        return self.runs[self.runs["status"] == Status.FINISHED.value]

    def headline_metrics(self) -> list[str]:
        return list(HEADLINE_METRICS) + (list(ORDINAL_METRICS) if self.ordinal else [])

    def scores(self, scope: str = "overall") -> dict[str, dict[str, dict[int, float]]]:
        """metric -> recipe -> seed -> value, for finished runs."""
        sub = self.metrics[self.metrics["scope"] == scope]
        out: dict[str, dict[str, dict[int, float]]] = {}
        for row in sub.itertuples(index=False):
            if row.value is None or (isinstance(row.value, float) and math.isnan(row.value)):
                continue
            out.setdefault(row.name, {}).setdefault(row.recipe, {})[int(row.seed)] = float(row.value)
        return out

    def mean_score(self, metric: str, recipe: str) -> float:
        """A recipe's mean of an overall metric over its finished seeds (NaN without any)."""
        values = list(self.scores().get(metric, {}).get(recipe, {}).values())
        return float(np.mean(values)) if values else math.nan

    def label_sets(self) -> dict[str, frozenset[str]]:
        """recipe -> the classes its finished runs were scored on (a merge has other ones)."""
        per_class = self.metrics[self.metrics["scope"].str.startswith("class:")]
        return {recipe: frozenset(group["scope"].str.slice(6)) for recipe, group in per_class.groupby("recipe")}

    @property
    def seeds(self) -> int:
        """The experiment's seed count (its spec), finished or not."""
        return int(self.experiment["spec"].get("seeds", 0))

    def per_class(self, metric: str) -> pd.DataFrame:
        """Mean and std over seeds of a per-class metric: rows recipe × class."""
        sub = self.metrics[(self.metrics["name"] == metric) & self.metrics["scope"].str.startswith("class:")]
        if sub.empty:
            return pd.DataFrame(columns=["recipe", "class", "mean", "std", "n"])
        sub = sub.assign(cls=sub["scope"].str.slice(6))
        grouped = sub.groupby(["recipe", "cls"], sort=False)["value"]
        table = grouped.agg(["mean", "std", "count"]).reset_index()
        return table.rename(columns={"cls": "class", "count": "n"})

    def predictions(self, run_id: int, store: Store) -> dict[str, np.ndarray]:
        row = self.runs.set_index("id").loc[run_id]
        return load_predictions(store, row["result_dir"])


def experiment_results(store: Store, experiment_id: int) -> ExperimentResults:
    experiment = store.experiment(experiment_id)
    info = store.dataset_info(experiment["dataset_id"])
    runs = store.runs(experiment=experiment_id)
    frame = pd.DataFrame([{"id": r.id, "recipe": r.recipe, "seed": r.seed, "status": r.status.value,
                           "result_dir": r.result_dir, "error": r.error, "progress": r.progress,
                           "reused_from": r.reused_from} for r in runs],
                         columns=["id", "recipe", "seed", "status", "result_dir", "error", "progress", "reused_from"])
    finished = frame[frame["status"] == Status.FINISHED.value]
    metrics = store.metrics(finished["id"].tolist())
    metrics = metrics.merge(finished[["id", "recipe", "seed"]], left_on="run_id", right_on="id").drop(columns="id")
    return ExperimentResults(experiment, frame, metrics, tuple(info["classes"]), bool(info["ordinal"]))


def per_class_text(results: ExperimentResults, metric: str = "recall") -> str:
    table = results.per_class(metric)
    if table.empty:
        return ""
    wide = table.pivot(index="recipe", columns="class", values="mean")
    wide = wide.reindex(index=[r for r in results.recipes if r in wide.index],
                        columns=[c for c in wide.columns])
    return f"per-class {metric} (mean over seeds)\n" + wide.to_string(float_format=lambda v: f"{v:.3f}")
