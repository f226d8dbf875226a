"""An experiment's results, shaped for tables, figures and reports."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from core.jobs.records import Status
from core.jobs.store import Store
from core.results.files import load_predictions
from core.results.stats import leaderboard
from core.runs.evaluate import HEADLINE_METRICS, ORDINAL_METRICS
from core.strategies.recipe import BASELINE

MARK_SYMBOL = {"better": "▲", "worse": "▼", "indistinguishable": "≈", "baseline": "", "reference": ""}


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

    def leaderboard(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        metrics = list(metrics or self.headline_metrics())
        scores = self.scores()
        if not scores:
            return pd.DataFrame()
        return leaderboard(scores, BASELINE, metrics)

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


def format_cell(mean: float, low: float, high: float, mark: str = "") -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    ci = "" if math.isnan(low) else f" ± {(high - low) / 2:.3f}"
    return f"{mean:.3f}{ci} {MARK_SYMBOL.get(mark, '')}".rstrip()


def leaderboard_text(results: ExperimentResults) -> str:
    """Plain-text table: mean ± CI half-width per recipe, marks vs baseline."""
    board = results.leaderboard()
    if board.empty:
        return "no finished runs yet"
    metrics = results.headline_metrics()
    header = ["recipe", "seeds", *metrics]
    rows = [header]
    for recipe, r in board.iterrows():
        rows.append([recipe, str(int(r["n_seeds"]))] + [
            format_cell(r[f"{m}_mean"], r[f"{m}_ci_low"], r[f"{m}_ci_high"], r[f"{m}_mark"]) for m in metrics])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("± = half-width of the 95% t-interval over seeds; ▲ better / ▼ worse / ≈ indistinguishable vs "
                 "baseline (paired t-test over seeds, Holm-corrected). 3 seeds detect only large effects.")
    return "\n".join(lines)


def per_class_text(results: ExperimentResults, metric: str = "recall") -> str:
    table = results.per_class(metric)
    if table.empty:
        return ""
    wide = table.pivot(index="recipe", columns="class", values="mean")
    wide = wide.reindex(index=[r for r in results.recipes if r in wide.index],
                        columns=[c for c in wide.columns])
    return f"per-class {metric} (mean over seeds)\n" + wide.to_string(float_format=lambda v: f"{v:.3f}")
