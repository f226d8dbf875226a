"""Exports for stakeholders: CSV/JSON of all metrics, a self-contained HTML
report, and prediction tables.

Everything a user typed (dataset and experiment names, class names, recipe
parameters, run errors) is escaped before it enters HTML, and neutralised
before it enters a CSV cell a spreadsheet could run as a formula. The HTML
report embeds plotly.js once, so it opens offline."""

from __future__ import annotations

import hashlib
import html
import json
import math
import time
from typing import Any, Sequence

import numpy as np
import pandas as pd

from core.data.profile import Profile, compute_profile, split_in_words
from core.errors import InputError
from core.files import safe_name
from core.jobs.store import Store
from core.results import compare
from core.results.experiment_results import ExperimentResults, experiment_results
from core.results.leaderboard import LEADERBOARD_CSS, Leaderboard, build_leaderboard
from core.results.merge_effects import is_merge_recipe
from core.results.verdict import verdict

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
METRICS_FORMAT = "imbalance-lab-metrics/1"
PER_CLASS_METRICS = ("recall", "precision", "f1")
def neutralise(value):
    """Prefix a quote to text a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> str:
    safe = frame.copy()
    safe.columns = [neutralise(str(c)) for c in safe.columns]
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    return safe.to_csv(index=False)


def export_name(experiment_id: int, what: str, extension: str) -> str:
    """A file name for an export: safe characters only, and a short hash of
    ``what`` so two long recipes never share a name."""
    digest = hashlib.sha1(what.encode("utf-8")).hexdigest()[:8]
    return f"experiment{int(experiment_id)}-{safe_name(what, 'export')[:60]}-{digest}.{extension}"


# ----- metrics as tables -----
def metrics_frame(store: Store, experiment_id: int) -> pd.DataFrame:
    """Every stored metric of every finished run, long: experiment_id, run_id,
    recipe, seed, scope ('overall', 'class', or 'validation': the validation
    rows' macro-F1 that choosing between recipes may use), class, metric, value."""
    results = experiment_results(store, experiment_id)
    m = results.metrics
    columns = ["experiment_id", "run_id", "recipe", "seed", "scope", "class", "metric", "value"]
    if m.empty:
        return pd.DataFrame(columns=columns)
    is_class = m["scope"].str.startswith("class:")
    frame = pd.DataFrame({
        "experiment_id": int(experiment_id), "run_id": m["run_id"].astype(int), "recipe": m["recipe"],
        "seed": m["seed"].astype(int), "scope": np.where(is_class, "class", m["scope"]),
        "class": np.where(is_class, m["scope"].str.slice(6), ""), "metric": m["name"],
        "value": pd.to_numeric(m["value"], errors="coerce"),
    })
    return frame.sort_values(["run_id", "scope", "class", "metric"], kind="stable").reset_index(drop=True)[columns]


def metrics_csv(store: Store, experiment_id: int) -> str:
    """``metrics_frame`` as CSV, text cells neutralised against spreadsheet formulas."""
    return safe_csv(metrics_frame(store, experiment_id))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def metrics_json(store: Store, experiment_id: int) -> str:
    """The experiment, its dataset, every run with its metrics, and the leaderboard."""
    results = experiment_results(store, experiment_id)
    board = build_leaderboard(results)
    experiment = results.experiment
    info = store.dataset_info(experiment["dataset_id"])
    frame = metrics_frame(store, experiment_id)
    runs = []
    for run in results.runs.itertuples(index=False):
        mine = frame[frame["run_id"] == run.id]
        overall = {r.metric: _number(r.value) for r in mine[mine["scope"] == "overall"].itertuples(index=False)}
        validation = {r.metric: _number(r.value) for r in mine[mine["scope"] == "validation"].itertuples(index=False)}
        per_class: dict[str, dict[str, float | None]] = {}
        for r in mine[mine["scope"] == "class"].to_dict("records"):
            per_class.setdefault(r["class"], {})[r["metric"]] = _number(r["value"])
        # pandas turns a missing error into NaN once another run has one: not valid JSON
        runs.append({"run_id": int(run.id), "recipe": run.recipe, "seed": int(run.seed), "status": run.status,
                     "error": run.error if isinstance(run.error, str) else None, "overall": overall,
                     "validation": validation, "per_class": per_class})
    payload = {
        "format": METRICS_FORMAT,
        "experiment": {"id": int(experiment["id"]), "name": experiment["name"], "spec": experiment["spec"]},
        "dataset": {"id": info["id"], "name": info["name"], "n_rows": int(info["n_rows"]),
                    "classes": list(info["classes"]), "ordinal": bool(info["ordinal"])},
        "runs": runs,
        "verdict": verdict(board),
        "leaderboard": board.records(),
    }
    return json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=False)


# ----- the HTML report -----
def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, cls: str = "") -> str:
    """An HTML table; every cell is escaped here, so callers pass plain values."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<div class="scroll"><table class="{_esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            '</table></div>')


class _Figures:
    """Turns plotly figures into HTML divs, embedding plotly.js in the first one only."""

    def __init__(self) -> None:
        self.embedded = False

    def __call__(self, fig) -> str:
        import plotly.io as pio

        div = pio.to_html(fig, include_plotlyjs=not self.embedded, full_html=False,
                          config={"displaylogo": False, "responsive": True})
        self.embedded = True
        return f'<div class="figure">{div}</div>'


def _sweeps_section(results: ExperimentResults, board: Leaderboard, figure: _Figures) -> str:
    """Each sweep as Compare shows it, on the leaderboard's ranking metric: the plot against the swept values, the
    points' table with the best point on test and the point validation chooses marked, and which to trust."""
    from core.results.figures import sweep_plot
    from core.results.sweeps import sweep_views

    views = sweep_views(results, board, board.sort_by)
    if not views:
        return ""
    baseline = board.baseline.cells[board.sort_by].mean if board.baseline else None
    parts = []
    for view in views:
        table = view.display()
        parts += [f"<h3>{_esc(view.source)}</h3>", figure(sweep_plot(view, baseline=baseline)),
                  _table(list(table.columns), table.values.tolist(), cls="sweep"),
                  f'<p class="note">{_esc(view.note)}</p>']
    return "<h2>Sweeps</h2>" + "".join(parts)


def _spec_section(results: ExperimentResults, info: dict, profile: Profile) -> str:
    spec = results.experiment["spec"]
    split = split_in_words(profile.parts)  # a split column's parts, not the shares it overrides
    rows = [("dataset", f"{info['name']} ({info['n_rows']:,} rows, {len(info['classes'])} classes"
                        f"{', ordinal' if info['ordinal'] else ''})"),
            ("seeds", spec.get("seeds")), ("test set", split["test"]), ("validation set", split["validation"]),
            ("recipes", " · ".join(spec.get("recipes", ()))), ("references", " · ".join(spec.get("references", ())))]
    rows += [(f"training: {k}", "auto" if v is None else v) for k, v in spec.get("settings", {}).items()]
    status = results.runs["status"].value_counts()
    rows.append(("runs", ", ".join(f"{n} {s}" for s, n in status.items()) or "none"))
    return "<h2>Experiment</h2>" + _table(["field", "value"], rows, cls="spec")


def _dataset_section(profile: Profile, figure: _Figures) -> str:
    from core.results.figures import class_distribution

    facts = [("rows", f"{profile.n_rows:,}"), ("classes", len(profile.classes)),
             ("imbalance ratio (largest / smallest)", f"{profile.imbalance_ratio:.1f}"),
             ("normalised entropy (1 = balanced)", f"{profile.normalised_entropy:.2f}"),
             ("median tokens per text", f"{profile.length_summary.median:.0f}"),
             ("exact duplicate texts", f"{profile.n_exact_duplicates:,}"),
             ("texts with conflicting labels", f"{profile.n_conflicting_duplicates:,}")]
    classes = [(c, f"{n:,}", f"{s:.1%}") for c, n, s in zip(profile.classes, profile.class_counts,
                                                            profile.class_shares)]
    return ("<h2>Dataset</h2>" + _table(["", ""], facts, cls="spec") + _table(["class", "rows", "share"], classes)
            + figure(class_distribution(profile, log_scale=profile.imbalance_ratio > 20)))


def _verdict_section(board: Leaderboard) -> str:
    sentences = "".join(f"<li>{_esc(sentence)}</li>" for sentence in verdict(board))
    return f'<h2>Verdict</h2><ul class="verdict">{sentences}</ul>'


def _leaderboard_section(board: Leaderboard) -> str:
    return "<h2>Leaderboard</h2>" + board.html()


def _statistics_section(results: ExperimentResults) -> str:
    seeds = results.seeds
    text = (f"This experiment has {seeds} seed{'s' if seeds != 1 else ''}. Each recipe is compared with the baseline "
            "(the plain LSTM) on the seeds they share, by a paired t-test, Holm-corrected across the recipes "
            "tested within each metric; references (majority, stratified random, TF-IDF + logistic regression) "
            "are context and never tested.")
    if any(is_merge_recipe(r) for r in results.recipes):
        text += (" Recipes with a merge step are scored on their merged classes, so they are not tested against the "
                 "baseline (n/a); the Merge explorer compares them on the merged label set.")
    return f"<h2>Statistics</h2><p>{_esc(text)}</p>"


def _per_class_section(results: ExperimentResults, figure: _Figures) -> str:
    from core.results.figures import bar_with_errors

    parts = []
    for metric in PER_CLASS_METRICS:
        table = results.per_class(metric)
        if table.empty:
            continue
        classes = list(dict.fromkeys(list(results.classes) + list(table["class"])))
        parts.append(figure(bar_with_errors(table, metric=metric, classes=classes)))
    if not parts:
        return ""
    return "<h2>Per-class recall, precision and F1</h2>" + "".join(parts)


def _confusion_section(store: Store, results: ExperimentResults, figure: _Figures) -> str:
    from core.results.figures import confusion_heatmap

    pooled = compare.pooled_confusions(store, results)
    if not pooled:
        return ""
    cells = "".join(figure(confusion_heatmap(cm, classes, title=recipe, normalise=True, zmax=1.0, showscale=False))
                    for recipe, (cm, classes) in pooled.items())
    return ("<h2>Confusion matrices</h2><p class=\"note\">Rows: true class; columns: predicted class; each row "
            "divided by its total, summed over the seeds' test sets.</p>" + f'<div class="grid">{cells}</div>')


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;color:#222;
padding:0 1rem}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f5}
.note{color:#555;font-size:.9rem}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:.5rem}
.figure{min-width:0}.scroll{overflow-x:auto}
""" + LEADERBOARD_CSS


def build_html_report(store: Store, experiment_id: int) -> str:
    """A self-contained HTML report of one experiment: spec, dataset profile,
    leaderboard with marks, each sweep's points, per-class bars, confusion matrices side by side and
    a note on statistics. plotly.js is embedded once; nothing is fetched."""
    results = experiment_results(store, experiment_id)
    board = build_leaderboard(results)
    experiment = results.experiment
    info = store.dataset_info(experiment["dataset_id"])
    spec = experiment["spec"]
    profile = compute_profile(store.load_dataset(info["id"]), test_share=spec.get("test_share"),
                              validation_share=spec.get("validation_share"))
    figure = _Figures()
    generated = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    title = f"Imbalance Lab — experiment #{int(experiment['id'])}: {experiment['name']}"
    body = "".join([
        f"<h1>{_esc(title)}</h1>",
        f"<p class=\"note\">Generated {_esc(generated)} from workspace results. Dataset {_esc(info['name'])}.</p>",
        _verdict_section(board),
        _leaderboard_section(board),
        _sweeps_section(results, board, figure),
        _spec_section(results, info, profile),
        _dataset_section(profile, figure),
        _statistics_section(results),
        _per_class_section(results, figure),
        _confusion_section(store, results, figure),
    ])
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_esc(title)}</title>"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{_CSS}</style></head>"
            f"<body>{body}</body></html>\n")


# ----- predictions -----
def predictions_long(texts: Sequence[str], answers: Sequence[dict]) -> pd.DataFrame:
    """One row per text × recipe × class: text_index, text, recipe, class,
    probability, and whether that class is the recipe's decided prediction."""
    rows = []
    for answer in answers:
        for i, (text, proba, predicted) in enumerate(zip(texts, answer["proba"], answer["predicted"])):
            rows += [{"text_index": i, "text": text, "recipe": answer["recipe"], "class": cls, "probability": p,
                      "predicted": cls == predicted} for cls, p in zip(answer["classes"], proba)]
    return pd.DataFrame(rows, columns=["text_index", "text", "recipe", "class", "probability", "predicted"])


def predictions_wide(texts: Sequence[str], answers: Sequence[dict], *, max_chars: int = 200) -> pd.DataFrame:
    """One row per text: the (shortened) text, then per recipe its predicted
    class and that class's probability."""
    frame = pd.DataFrame({"text": [t if len(t) <= max_chars else t[: max_chars - 1] + "…" for t in texts]})
    for answer in answers:
        index = {c: j for j, c in enumerate(answer["classes"])}
        frame[f"{answer['recipe']}"] = answer["predicted"]
        frame[f"{answer['recipe']} · p"] = [row[index[p]] for row, p in zip(answer["proba"], answer["predicted"])]
    return frame


def predictions_csv(texts: Sequence[str], answers: Sequence[dict]) -> str:
    return safe_csv(predictions_long(texts, answers))


def prediction_texts(store: Store, request_id: int) -> list[str]:
    """The texts of a stored prediction request, in the order of its answers
    (``core.jobs.predictions.prediction_result`` returns the answers only)."""
    try:
        request = store.prediction_request(request_id)["request"]
    except InputError:
        return []
    return [str(t) for t in request.get("texts", [])]
