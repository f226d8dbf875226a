"""An experiment's sweeps, each shown as one group: its points' test score on a
metric (mean, interval and mark from the leaderboard, so the Holm family and the
power are the experiment's own) beside their validation macro-F1, the best point
on test and the point validation chooses.

Picking the best of many points on the test rows that then score it flatters
that point (the more points, the more); a choice made on validation rows and
read on test does not. So both are marked, and the note says which to trust."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.results.experiment_results import ExperimentResults
from core.results.leaderboard import Leaderboard
from core.results.stats import LOWER_IS_BETTER
from core.runs.evaluate import metric_label
from core.strategies.sweeps import SweepGroup

VALIDATION_METRIC = "macro_f1"  # what every run scores on its validation rows (metrics scope "validation")
BEST_MARK, CHOSEN_MARK = "★", "◆"


@dataclass(frozen=True)
class SweepView:
    source: str  # the sweep as submitted
    parameters: tuple[str, ...]  # the swept parameters, in the order written
    metric: str
    table: pd.DataFrame  # one row per point: the swept values, recipe, seeds, mean, ci_low, ci_high, interval
    #                      (with the mark against the baseline), mark, validation, best (on test), chosen (by validation)

    @property
    def best(self) -> str | None:
        return _flagged(self.table, "best")

    @property
    def chosen(self) -> str | None:
        return _flagged(self.table, "chosen")

    @property
    def note(self) -> str:
        """Why the best point on test is optimistic, and which point to trust."""
        n = len(self.table)
        text = (f"{BEST_MARK} is the best of {n} points on test {metric_label(self.metric)}: picked on the same test "
                "rows that score it, so its number is optimistic (the more points, the more). Choose on validation: "
                f"{CHOSEN_MARK} is the point with the best validation macro-F1 (scored on validation rows only), and "
                "its test score is the fair estimate of what this sweep found.")
        if self.chosen is None:
            return text + " No point has a validation score yet."
        if self.chosen == self.best:
            return text + " Here validation chooses the same point."
        return text

    def display(self) -> pd.DataFrame:
        """The table as Compare and ``experiment show`` print it: values, test score with its mark, validation."""
        rows = []
        for row in self.table.to_dict("records"):
            record = {name: _value_text(row[value_column(name)]) for name in self.parameters}
            marks = BEST_MARK * bool(row["best"]) + CHOSEN_MARK * bool(row["chosen"])
            record |= {"recipe": row["recipe"], "seeds": int(row["seeds"]),
                       f"test {metric_label(self.metric)}": f"{row['interval']} {marks}".strip(),
                       "validation macro-F1": "—" if math.isnan(row["validation"]) else f"{row['validation']:.3f}"}
            rows.append(record)
        return pd.DataFrame(rows)


def _flagged(table: pd.DataFrame, column: str) -> str | None:
    hits = table.loc[table[column], "recipe"] if len(table) else []
    return str(hits.iloc[0]) if len(hits) else None


def value_column(parameter: str) -> str:
    """The table's column holding a swept parameter's values."""
    return f"value:{parameter}"


def _value_text(value) -> str:
    return value if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)


def sweep_groups(results: ExperimentResults) -> list[SweepGroup]:
    """The sweeps the experiment was submitted with (none for one stored before sweeps existed)."""
    return [SweepGroup.from_json(g) for g in results.experiment["spec"].get("sweeps", ())]


def sweep_views(results: ExperimentResults, board: Leaderboard, metric: str) -> list[SweepView]:
    """One view per sweep of the experiment, on ``metric`` (a column of ``board``)."""
    validation = results.scores("validation").get(VALIDATION_METRIC, {})
    views = []
    for group in sweep_groups(results):
        rows = []
        for point in group.points:
            found = board.row(point.recipe)
            cell = found.cells.get(metric) if found else None
            scores = list(validation.get(point.recipe, {}).values())
            rows.append({**{value_column(k): v for k, v in point.values}, "recipe": point.recipe,
                         "seeds": found.seeds if found else 0,
                         "mean": cell.mean if cell else math.nan,
                         "ci_low": cell.ci_low if cell and cell.n >= 3 else math.nan,
                         "ci_high": cell.ci_high if cell and cell.n >= 3 else math.nan,
                         "interval": cell.text if cell else "—",  # with its mark against the baseline
                         "mark": cell.mark if cell else "",
                         "validation": float(np.mean(scores)) if scores else math.nan})
        table = pd.DataFrame(rows)
        table["best"] = _marks_best(table["mean"], lower_is_better=metric in LOWER_IS_BETTER)
        table["chosen"] = _marks_best(table["validation"], lower_is_better=False)
        views.append(SweepView(group.source, group.parameters, metric, table))
    return views


def _marks_best(values: pd.Series, *, lower_is_better: bool) -> pd.Series:
    """True at the first best finite value (none when every value is missing)."""
    flags = pd.Series(False, index=values.index)
    if values.notna().any():
        flags[values.idxmin() if lower_is_better else values.idxmax()] = True
    return flags


def sweeps_text(views: list[SweepView]) -> str:
    """Every sweep as plain text, for ``python -m core experiment show``."""
    parts = []
    for view in views:
        parts += [f"sweep {view.source}", view.display().to_string(index=False), view.note, ""]
    return "\n".join(parts).rstrip()
