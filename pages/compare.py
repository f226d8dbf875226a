"""Compare: leaderboard with CIs and significance, per-class bars, confusion
matrices side by side (click a cell to read its texts), curves and calibration.
The chosen view (recipes, classes, section) lives in the URL query."""

from functools import partial

import pandas as pd
import streamlit as st

from core.errors import InputError
from core.jobs.experiments import add_seeds
from core.jobs.progress import unfinished_note
from core.jobs.records import Status
from core.results import compare, figures
from core.results.experiment_results import experiment_results
from core.results.leaderboard import LEADERBOARD_CSS, build_leaderboard
from core.results.sweeps import sweep_views
from core.results.verdict import verdict
from core.runs.evaluate import metric_label
from core.runs.references import is_reference
from core.settings import get_settings
from core.strategies.recipe import display_order
from pages.common import (
    ensure_worker,
    experiment_picker,
    read_only,
    show_error,
    show_sentences,
    store,
)


def query_list(key: str, options: list[str]) -> list[str]:
    chosen = [v for v in st.query_params.get_all(key) if v in options]
    return chosen or options


@st.cache_data(ttl=10, show_spinner=False)
def _results(root: str, experiment_id: int, n_finished: int):
    return experiment_results(store(), experiment_id)


@st.cache_data(ttl=60, show_spinner=False, max_entries=64)
def _pooled(root: str, experiment_id: int, n_finished: int, recipe: str):
    """A recipe's test predictions pooled over seeds (read from the runs' .npz
    files once per set of finished runs, not on every rerun)."""
    return compare.pooled(_results(root, experiment_id, n_finished), store(), recipe)


@st.cache_data(ttl=60, show_spinner=False, max_entries=16)
def _leaderboard(root: str, experiment_id: int, n_finished: int, sort_by: str, classes: tuple[str, ...] = (),
                 class_metric: str = "recall"):
    """The leaderboard (tests and power: a few tenths of a second) once per set of finished runs, ranking and
    per-class columns."""
    return build_leaderboard(_results(root, experiment_id, n_finished), sort_by=sort_by, classes=classes,
                             class_metric=class_metric)


@st.cache_data(ttl=60, show_spinner=False, max_entries=16)
def _confusions(root: str, experiment_id: int, n_finished: int):
    """recipe -> (confusion summed over seeds, classes), from the runs' stored evaluations."""
    return compare.pooled_confusions(store(), _results(root, experiment_id, n_finished))


def pooled_for(results, recipes: list[str]) -> dict:
    key = (str(store().root), int(results.experiment["id"]), len(results.finished))
    found = {r: _pooled(*key, r) for r in recipes}
    return {r: p for r, p in found.items() if p is not None}


def leaderboard(results, recipes: list[str], classes: list[str]) -> None:
    metrics = results.headline_metrics()
    c = st.columns([2, 4])
    chosen = st.query_params.get("sort", "macro_f1")
    sort_by = c[0].selectbox("Rank by", metrics, index=metrics.index(chosen) if chosen in metrics else 0,
                             format_func=metric_label)
    st.query_params["sort"] = sort_by
    shown = c[1].multiselect("Columns", metrics, default=metrics, format_func=metric_label) or metrics
    key = (str(store().root), int(results.experiment["id"]), len(results.finished), sort_by)
    full = whole = _leaderboard(*key)
    show_sentences(verdict(full))
    narrowed = len(classes) < len(results.classes)
    if narrowed:
        class_metric = st.radio("Per-class columns", ["recall", "precision", "f1"], horizontal=True)
        full = _leaderboard(*key, tuple(classes), class_metric)
        st.caption(f"The Classes filter adds a {class_metric} column per chosen class; "
                   f"{', '.join(metric_label(m) for m in shown)} are over all classes, whatever the filter.")
    board = full.select([*shown, *full.metrics[len(metrics):]]).only(recipes)
    st.html(f"<style>{LEADERBOARD_CSS}</style>{board.html()}")
    sweeps(results, whole, sort_by)
    more_seeds(results)


def sweeps(results, board, metric: str) -> None:
    """Each sweep's points together, on the ranking metric: a plot against the swept values and a table, the best
    point on test and the point validation chooses marked, and why to trust the second."""
    views = sweep_views(results, board, metric)
    if not views:
        return
    st.subheader("Sweeps")
    baseline = board.baseline.cells[metric].mean if board.baseline else None
    for i, view in enumerate(views):
        st.plotly_chart(figures.sweep_plot(view, baseline=baseline), width="stretch", key=f"sweep.{i}")
        st.dataframe(view.display(), hide_index=True, width="stretch")
        st.caption(view.note)


def more_seeds(results) -> None:
    """Bring every recipe of this experiment to more seeds (finished runs are reused)."""
    limit = get_settings().max_seeds
    if results.seeds >= limit or read_only():
        return
    with st.expander(f"Add seeds (this experiment has {results.seeds})"):
        to = st.number_input("Seeds to reach", results.seeds + 1, limit, min(max(results.seeds + 2, 5), limit),
                             help="Every recipe and reference gets runs for the new seeds; more seeds narrow the "
                                  "intervals and let smaller differences show.")
        if st.button("Add seeds"):
            try:
                added = add_seeds(store(), int(results.experiment["id"]), int(to))
            except InputError as exc:
                show_error(exc)
            else:
                ensure_worker()
                st.success(f"Queued {added} runs to reach {int(to)} seeds — follow them on the Runs page.")


def per_class(results, recipes, classes) -> None:
    metric = st.radio("Per-class metric", ["recall", "precision", "f1"], horizontal=True)
    table = results.per_class(metric)
    table = table[table["recipe"].isin(recipes)]
    st.plotly_chart(figures.bar_with_errors(table, metric=metric, classes=[c for c in classes]),
                    width="stretch")


def confusion_grid(results, recipes, classes) -> None:
    normalise = st.toggle("Row-normalised", value=True)
    pooled = pooled_for(results, recipes)
    if not pooled:
        return
    summed = _confusions(str(store().root), int(results.experiment["id"]), len(results.finished))
    matrices = {r: summed[r][0] for r in pooled if r in summed}
    zmax = 1.0 if normalise else max(int(m.max()) for m in matrices.values())
    narrowed = len(classes) < len(results.classes)
    st.caption("Summed over seeds; one shared colour scale. Click a cell to read the texts behind it."
               + (" Rows: the chosen classes (a merge's groups always); columns: every predicted class, so a "
                  "row's shares still sum to 1." if narrowed else ""))
    cols = st.columns(min(3, len(matrices)))
    for i, (recipe, cm) in enumerate(matrices.items()):
        names = summed[recipe][1]
        with cols[i % len(cols)]:
            fig = figures.confusion_heatmap(cm, names, title=recipe, normalise=normalise, zmax=zmax,
                                            showscale=i == 0, rows=compare.shown_classes(names, classes,
                                                                                         results.classes))
            st.plotly_chart(fig, width="stretch", key=f"cm.{recipe}", selection_mode="points",
                            on_select=partial(_read_clicked_cell, f"cm.{recipe}", recipe))
    cell_reader(results, pooled, classes)


def _read_clicked_cell(chart_key: str, recipe: str) -> None:
    """Point the cell reader at the cell just clicked in ``recipe``'s matrix
    (runs when that chart's selection changes, before its widgets are drawn)."""
    state = st.session_state.get(chart_key)
    cell = compare.clicked_cell(state.selection.points if state else [])
    if cell is not None:
        st.session_state["reader.recipe"] = recipe
        st.session_state["reader.true"], st.session_state["reader.predicted"] = cell


def _keep_choice(key: str, options: list, default) -> None:
    """Reset a widget's remembered choice that its options no longer hold (another recipe's classes)."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def cell_reader(results, pooled, classes) -> None:
    st.markdown("**Texts behind a cell**")
    recipes = list(pooled)
    c = st.columns(3)
    _keep_choice("reader.recipe", recipes, recipes[0])
    recipe = c[0].selectbox("Recipe", recipes, key="reader.recipe")
    p = pooled[recipe]
    rows = compare.shown_classes(p.classes, classes, results.classes) or list(range(len(p.classes)))
    predicted = list(range(len(p.classes)))
    _keep_choice("reader.true", rows, rows[0])
    _keep_choice("reader.predicted", predicted, next((j for j in predicted if j != rows[0]), rows[0]))
    true_i = c[1].selectbox("True class", rows, key="reader.true", format_func=lambda i: p.classes[i])
    pred_i = c[2].selectbox("Predicted class", predicted, key="reader.predicted", format_func=lambda i: p.classes[i])
    hits = compare.cell_rows(p, true_i, pred_i)
    data = store().load_dataset(results.experiment["dataset_id"])
    st.caption(f"{len(hits)} test texts (over all seeds): true {p.classes[true_i]} → predicted {p.classes[pred_i]}")
    if hits:
        st.dataframe(pd.DataFrame([{"seed": s, "row": r, "text": data.texts[r]} for s, r in hits[:200]]),
                     width="stretch", hide_index=True)


def curves(results, recipes, classes) -> None:
    pooled = pooled_for(results, recipes)
    if not pooled:
        return
    first = next(iter(pooled.values()))
    options = [c for c in results.classes if c in classes] or list(results.classes)
    default = compare.minority_class(first, options)
    cls = st.selectbox("Class", options, index=options.index(default) if default in options else 0,
                       help="Starts on the chosen class with the fewest test texts.")
    cols = st.columns(3)
    for col, kind, title in zip(cols, ("pr", "roc", "calibration"), ("Precision–recall", "ROC", "Reliability")):
        series = {}
        for r, p in pooled.items():
            if cls in p.classes and (found := compare.curve(p, p.classes.index(cls), kind)) is not None:
                series[r] = found
        col.plotly_chart(figures.curves(series, kind=kind, title=f"{title}: {cls}"), width="stretch")
    lstm = [r for r in recipes if not is_reference(r)]
    st.plotly_chart(figures.learning_curves({r: compare.histories(results, store(), r) for r in lstm}),
                    width="stretch")
    if len(classes) < len(results.classes):
        st.caption("Learning curves are over all classes (training and validation loss, validation macro-F1): "
                   "the Classes filter does not change them.")


st.title("Compare")
experiment_id = experiment_picker()
if experiment_id is None:
    st.info("No experiments yet — go to **Experiment** to start one.")
    st.stop()
statuses = [r.status for r in store().runs(experiment=experiment_id)]  # fresh: the cached results may be older
n_finished = statuses.count(Status.FINISHED)
results = _results(str(store().root), experiment_id, n_finished)
if results.finished.empty:
    st.info("No finished runs yet — follow progress on the **Runs** page.")
    st.stop()
all_recipes = display_order(r for r in results.recipes if r in set(results.finished["recipe"]))
c = st.columns([3, 2])
recipes = c[0].multiselect("Recipes", all_recipes, default=query_list("recipe", all_recipes))
classes = c[1].multiselect("Classes", list(results.classes), default=query_list("class", list(results.classes)),
                           help="Narrows the per-class views; each view says what it leaves over all classes. "
                                "None chosen: every class.") or list(results.classes)
view = st.segmented_control("View", ["Leaderboard", "Per class", "Confusion", "Curves"],
                            default=st.query_params.get("view", "Leaderboard")) or "Leaderboard"
st.query_params["recipe"] = recipes if len(recipes) < len(all_recipes) else []
st.query_params["class"] = classes if len(classes) < len(results.classes) else []
st.query_params["view"] = view
if note := unfinished_note(statuses):
    st.caption(note)
if not recipes:
    st.info("Pick at least one recipe.")
elif view == "Leaderboard":
    leaderboard(results, recipes, classes)
elif view == "Per class":
    per_class(results, recipes, classes)
elif view == "Confusion":
    confusion_grid(results, recipes, classes)
else:
    curves(results, recipes, classes)
