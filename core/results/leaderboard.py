"""The leaderboard: every recipe's mean, interval and mark against the baseline
per headline metric, with the power behind each mark — built once here and
written as HTML (Compare page, report), plain text (``experiment show``) and
records (metrics JSON), so the three never disagree.

Rules (docs/architecture.md, "Statistics"): an interval needs 3 seeds, and is
never shown wider than the metric's range; a mark needs a test, and "n/a"
says why there is none; "≈" comes with the smallest difference the seeds can
detect and the seeds needed to detect 0.02."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from core.data.wording import plural
from core.results.experiment_results import ExperimentResults
from core.results.stats import (
    BETTER,
    LOWER_IS_BETTER,
    MOST_SEEDS,
    NA,
    SAME,
    TARGET_DIFFERENCE,
    WORSE,
    compare_to_baseline,
    summarise,
)
from core.runs.evaluate import METRICS, metric_label, metric_range
from core.runs.references import is_reference
from core.strategies.recipe import BASELINE

MARK_SYMBOL = {BETTER: "▲", WORSE: "▼", SAME: "≈", NA: "n/a", "baseline": "", "reference": ""}
MIN_SEEDS_FOR_INTERVAL = 3
# Styles of the HTML table (the report and the Compare page both use them): cells wrap, so the whole table
# fits its column; numbers align; the best recipe is highlighted; references sit apart.
LEADERBOARD_CSS = """
table.leaderboard,table.power{border-collapse:collapse;font-size:.85rem;margin:.3rem 0 .6rem;width:100%}
table.leaderboard th,table.leaderboard td,table.power th,table.power td{border:1px solid #ddd;padding:.2rem .4rem;
text-align:left;vertical-align:top;overflow-wrap:anywhere}
table.leaderboard td{font-variant-numeric:tabular-nums}
table.leaderboard th:nth-child(2),table.leaderboard td:nth-child(2){white-space:nowrap;overflow-wrap:normal}
table.leaderboard th[title]{text-decoration:underline dotted;cursor:help}
table.leaderboard tr.best td{background:#e8f4ea;font-weight:600}
table.leaderboard tr.baseline td{background:#f6f6f6}
table.leaderboard tbody.references td{color:#555}
table.leaderboard td[data-mark="n/a"]{color:#8a5a00}
ol.na-notes{font-size:.85rem;color:#555}
"""


@dataclass(frozen=True)
class Cell:
    """One recipe on one metric."""

    metric: str
    mean: float
    std: float
    ci_low: float
    ci_high: float
    n: int  # seeds with a value
    mark: str  # better | worse | indistinguishable | n/a | baseline | reference
    note: str = ""  # why a mark is n/a
    p_adjusted: float = math.nan
    detectable: float = math.nan
    seeds_needed: int | None = None
    family_size: int = 0
    value_range: tuple[float, float] = (-math.inf, math.inf)

    @property
    def interval(self) -> str:
        """"0.412 ± 0.014"; "0.277 (2 seeds)" under 3 seeds; "[low, high]" when
        the interval would leave the metric's range (it is cut at the range)."""
        if math.isnan(self.mean):
            return "—"
        if self.n < MIN_SEEDS_FOR_INTERVAL or math.isnan(self.ci_low):
            return f"{self.mean:.3f} ({plural(self.n, 'seed')})"
        low, high = self.value_range
        if self.ci_low < low or self.ci_high > high:
            return f"{self.mean:.3f} [{max(self.ci_low, low):.3f}, {min(self.ci_high, high):.3f}]"
        return f"{self.mean:.3f} ± {(self.ci_high - self.ci_low) / 2:.3f}"

    @property
    def text(self) -> str:
        return f"{self.interval} {MARK_SYMBOL.get(self.mark, '')}".rstrip()

    @property
    def power(self) -> str:
        """"detects ≥ 0.034; 12 seeds for 0.02", or "" where there is no test."""
        if self.mark not in (BETTER, WORSE, SAME) or math.isnan(self.detectable):
            return ""
        needed = f"{self.seeds_needed}" if self.seeds_needed is not None else f"more than {MOST_SEEDS}"
        return f"detects ≥ {self.detectable:.3f}; {needed} seeds for {TARGET_DIFFERENCE:g}"

    @property
    def tooltip(self) -> str:
        if self.mark == NA:
            return self.note
        if self.mark in ("baseline", "reference"):
            return "the baseline every recipe is tested against" if self.mark == "baseline" else \
                "a reference: shown for context, never tested"
        if self.mark not in (BETTER, WORSE, SAME):
            return ""
        verdict = {BETTER: "better than", WORSE: "worse than", SAME: "not shown to differ from"}[self.mark]
        return (f"{verdict} the baseline: paired t-test over {plural(self.n, 'seed')}, Holm-adjusted p = "
                f"{self.p_adjusted:.3g} ({plural(self.family_size, 'recipe')} tested). With these seeds the "
                f"smallest difference detectable with power 0.8 is {self.detectable:.3f}; "
                + (f"{self.seeds_needed} seeds would detect {TARGET_DIFFERENCE:g}." if self.seeds_needed is not None
                   else f"more than {MOST_SEEDS} seeds would be needed to detect {TARGET_DIFFERENCE:g}."))


@dataclass(frozen=True)
class Row:
    recipe: str
    role: str  # baseline | recipe | reference
    seeds: int
    cells: dict[str, Cell]
    best: bool = False


@dataclass(frozen=True)
class Leaderboard:
    metrics: tuple[str, ...]
    sort_by: str
    rows: tuple[Row, ...]  # the baseline and the LSTM recipes, best first on ``sort_by``
    references: tuple[Row, ...]
    seeds: int  # the experiment's seed count
    notes: tuple[str, ...] = field(default=())  # the distinct reasons for n/a, numbered from 1
    labels: dict[str, str] = field(default_factory=dict)  # column -> header, for columns that are not metric names
    helps: dict[str, str] = field(default_factory=dict)  # column -> header tooltip, likewise

    def label(self, column: str) -> str:
        """A column's header: the metric's words, or a per-class column's "recall · neg"."""
        return self.labels.get(column) or metric_label(column)

    def help(self, column: str) -> str:
        return self.helps.get(column) or (METRICS[column].help if column in METRICS else column)

    @property
    def empty(self) -> bool:
        return not self.rows and not self.references

    @property
    def best(self) -> Row | None:
        return next((r for r in self.rows if r.best), None)

    @property
    def baseline(self) -> Row | None:
        return next((r for r in self.rows if r.role == "baseline"), None)

    def select(self, metrics: Sequence[str]) -> "Leaderboard":
        """The same leaderboard showing only ``metrics`` (in this leaderboard's order); nothing is recomputed."""
        keep = tuple(m for m in self.metrics if m in set(metrics)) or self.metrics
        rows = tuple(Row(r.recipe, r.role, r.seeds, {m: r.cells[m] for m in keep}, r.best) for r in self.rows)
        refs = tuple(Row(r.recipe, r.role, r.seeds, {m: r.cells[m] for m in keep}, r.best) for r in self.references)
        notes = tuple(dict.fromkeys(c.note for r in rows for c in r.cells.values() if c.mark == NA and c.note))
        return Leaderboard(keep, self.sort_by, rows, refs, self.seeds, notes, self.labels, self.helps)

    def only(self, recipes: Sequence[str]) -> "Leaderboard":
        """The same leaderboard (tests and power unchanged) showing only ``recipes``."""
        keep = set(recipes)
        rows = tuple(r for r in self.rows if r.recipe in keep)
        notes = tuple(dict.fromkeys(c.note for r in rows for c in r.cells.values() if c.mark == NA and c.note))
        return Leaderboard(self.metrics, self.sort_by, rows, tuple(r for r in self.references if r.recipe in keep),
                           self.seeds, notes, self.labels, self.helps)

    def row(self, recipe: str) -> Row | None:
        return next((r for r in (*self.rows, *self.references) if r.recipe == recipe), None)

    def note_number(self, cell: Cell) -> int | None:
        return self.notes.index(cell.note) + 1 if cell.mark == NA and cell.note in self.notes else None

    def cell_text(self, cell: Cell) -> str:
        number = self.note_number(cell)
        return cell.text + (f" [{number}]" if number else "")

    @property
    def legend(self) -> str:
        tested = max((c.family_size for r in self.rows for c in r.cells.values()), default=0)
        family = f"across the {plural(tested, 'recipe')} tested" if tested else "across the recipes tested (none here)"
        return (f"Mean ± half-width of the 95% t-interval over seeds (this experiment: {plural(self.seeds, 'seed')}; "
                f"with fewer than {MIN_SEEDS_FOR_INTERVAL} seeds a cell shows the seed count instead of an interval, "
                "and an interval is cut at the metric's range, shown as [low, high]). ▲ better / ▼ worse / "
                f"≈ indistinguishable from the baseline: paired t-test over seeds, Holm-corrected {family} within "
                "each metric (adjusted p < 0.05). ≈ means \"not shown to "
                "differ\", not \"equal\": the power table gives the smallest difference the seeds can detect (power "
                f"0.8) and the seeds needed to detect {TARGET_DIFFERENCE:g}. n/a: no test is possible (reasons "
                "below). References are shown for context and never tested.")

    # ----- as text (CLI) -----
    def text(self) -> str:
        if self.empty:
            return "no finished runs yet"
        header = ["recipe", "seeds", *(self.label(m) for m in self.metrics)]
        lines = [header]
        for row in (*self.rows, *self.references):
            name = ("* " if row.best else "  ") + row.recipe + (" (reference)" if row.role == "reference" else "")
            lines.append([name, str(row.seeds), *(self.cell_text(row.cells[m]) for m in self.metrics)])
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
        out.insert(1, "  ".join("-" * w for w in widths))
        out += ["", (f"* best on {metric_label(self.sort_by)}. " if self.best else "") + self.legend]
        out += [f"[{i}] {note}" for i, note in enumerate(self.notes, 1)]
        power = self.power_rows()
        if power:
            out += ["", "what these seeds can tell apart (vs the baseline):"]
            width = max(len(r[0]) for r in power)
            out += [f"  {r[0].ljust(width)}  " + "; ".join(f"{self.label(m)}: {t}" for m, t in zip(self.metrics, r[1:])
                                                           if t) for r in power]
        return "\n".join(out)

    def power_rows(self) -> list[list[str]]:
        """recipe, then per metric the power text, for recipes with a test."""
        rows = []
        for row in self.rows:
            texts = [row.cells[m].power for m in self.metrics]
            if any(texts):
                rows.append([row.recipe, *texts])
        return rows

    # ----- as HTML (Compare page, report) -----
    def html(self) -> str:
        """A table with word headers (their explanation on hover), the best recipe
        highlighted, references apart, an explanation on every mark, numbered n/a
        notes and the power table; every value escaped."""
        if self.empty:
            return "<p>No finished runs yet.</p>"
        esc = lambda v: html.escape(str(v), quote=True)  # noqa: E731
        head = "<th>recipe</th><th title=\"finished seeds\">seeds</th>" + "".join(
            f"<th title=\"{esc(self.help(m))}\">{esc(self.label(m))}</th>"
            for m in self.metrics)

        def body(rows: Sequence[Row]) -> str:
            out = []
            for row in rows:
                cls = ' class="best"' if row.best else (' class="baseline"' if row.role == "baseline" else "")
                tags = [t for t, on in (("baseline", row.role == "baseline"), ("best", row.best)) if on]
                name = esc(row.recipe) + (f" <small>({', '.join(tags)})</small>" if tags else "")
                cells = "".join(f'<td title="{esc(row.cells[m].tooltip)}" data-mark="{esc(row.cells[m].mark)}">'
                                f"{esc(self.cell_text(row.cells[m]))}</td>" for m in self.metrics)
                out.append(f"<tr{cls}><td>{name}</td><td>{row.seeds}</td>{cells}</tr>")
            return "".join(out)

        references = ""
        if self.references:
            references = (f'<tbody class="references"><tr><th colspan="{len(self.metrics) + 2}">References — shown '
                          f"for context, never tested</th></tr>{body(self.references)}</tbody>")
        table = (f'<div class="scroll"><table class="leaderboard"><thead><tr>{head}</tr></thead>'
                 f"<tbody>{body(self.rows)}</tbody>{references}</table></div>")
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.notes)
        parts = [table, f'<p class="note">{esc(self.legend)}</p>']
        if notes:
            parts.append(f'<ol class="note na-notes">{notes}</ol>')
        power = self.power_rows()
        if power:
            rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in power)
            heads = "<th>recipe vs baseline</th>" + "".join(f"<th>{esc(self.label(m))}</th>" for m in self.metrics)
            parts.append('<p class="note"><b>What these seeds can tell apart</b>: the smallest difference from the '
                         f"baseline each test detects with power 0.8, and the seeds needed to detect "
                         f"{TARGET_DIFFERENCE:g}.</p>"
                         f'<div class="scroll"><table class="power"><thead><tr>{heads}</tr></thead>'
                         f"<tbody>{rows}</tbody></table></div>")
        return "".join(parts)

    # ----- as records (metrics JSON) -----
    def records(self) -> list[dict]:
        def number(v: Any) -> float | None:
            return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)

        out = []
        for row in (*self.rows, *self.references):
            record: dict[str, Any] = {"recipe": row.recipe, "role": row.role, "n_seeds": row.seeds, "best": row.best}
            for m in self.metrics:
                c = row.cells[m]
                record[m] = {"mean": number(c.mean), "std": number(c.std), "n": c.n,
                             "ci_low": number(c.ci_low) if c.n >= MIN_SEEDS_FOR_INTERVAL else None,
                             "ci_high": number(c.ci_high) if c.n >= MIN_SEEDS_FOR_INTERVAL else None,
                             "p_adj": number(c.p_adjusted), "mark": c.mark, "note": c.note or None,
                             "detectable_difference": number(c.detectable), "seeds_needed": c.seeds_needed}
            out.append(record)
        return out


def _better_first(metric: str):
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
    return lambda row: (math.isnan(row.cells[metric].mean), sign * (0.0 if math.isnan(row.cells[metric].mean)
                                                                     else row.cells[metric].mean))


def class_column(metric: str, cls: str) -> str:
    """The key of a per-class column: ``metric`` (recall, precision, f1) of class ``cls``."""
    return f"{metric} · {cls}"


def build_leaderboard(results: ExperimentResults, *, sort_by: str = "macro_f1",
                      metrics: Sequence[str] | None = None, classes: Sequence[str] = (),
                      class_metric: str = "recall") -> Leaderboard:
    """The leaderboard of an experiment's finished runs, sorted by ``sort_by``.

    ``classes`` adds, after the metrics, one column per class with that class's
    ``class_metric`` (keyed by ``class_column``), tested against the baseline
    like any metric (Holm within each column)."""
    metrics = tuple(metrics or results.headline_metrics())
    if sort_by not in metrics:
        sort_by = metrics[0]
    scores = results.scores()
    per_class = {class_column(class_metric, c): results.scores(f"class:{c}").get(class_metric, {}) for c in classes}
    labels = {column: column for column in per_class}
    helps = {class_column(class_metric, c): f"{class_metric} of class {c} alone" for c in classes}
    label_sets = results.label_sets()
    n_classes = len(results.classes)
    recipes = [r for r in results.recipes if any(r in scores.get(m, {}) for m in metrics)]
    scores = {**scores, **per_class}
    columns = (*metrics, *(c for c in per_class if c not in metrics))
    comparisons = {m: {c.recipe: c for c in compare_to_baseline({r: scores.get(m, {}).get(r, {}) for r in recipes}
                                                                | {BASELINE: scores.get(m, {}).get(BASELINE, {})},
                                                                BASELINE, m, label_sets=label_sets)}
                   for m in columns}
    rows, references = [], []
    for recipe in dict.fromkeys([BASELINE, *recipes]):
        if recipe == BASELINE and not any(BASELINE in scores.get(m, {}) for m in metrics):
            continue
        cells, seeds = {}, set()
        for m in columns:
            values = scores.get(m, {}).get(recipe, {})
            seeds.update(values)
            s = summarise(list(values.values()))
            role = "baseline" if recipe == BASELINE else ("reference" if is_reference(recipe) else "recipe")
            c = comparisons[m].get(recipe)
            mark = role if role != "recipe" else c.mark
            cells[m] = Cell(m, s.mean, s.std, s.ci_low, s.ci_high, s.n, mark,
                            note=c.note if c is not None and mark == NA else "",
                            p_adjusted=c.p_adjusted if c else math.nan, detectable=c.detectable if c else math.nan,
                            seeds_needed=c.seeds_needed if c else None, family_size=c.family_size if c else 0,
                            value_range=(0.0, 1.0) if m in per_class else metric_range(m, n_classes))
        role = "baseline" if recipe == BASELINE else ("reference" if is_reference(recipe) else "recipe")
        (references if role == "reference" else rows).append(Row(recipe, role, len(seeds), cells))
    rows.sort(key=_better_first(sort_by))
    # The best recipe is the best one on the baseline's classes: a merge's numbers are on another label set.
    base_labels = label_sets.get(BASELINE)
    for i, row in enumerate(rows):
        if base_labels is not None and label_sets.get(row.recipe, base_labels) != base_labels:
            continue
        if not math.isnan(row.cells[sort_by].mean):
            rows[i] = Row(row.recipe, row.role, row.seeds, row.cells, best=True)
        break
    notes = tuple(dict.fromkeys(c.note for r in rows for c in r.cells.values() if c.mark == NA and c.note))
    return Leaderboard(columns, sort_by, tuple(rows), tuple(references),
                       int(results.experiment["spec"].get("seeds", 0)), notes, labels, helps)
