"""Compare: leaderboard with CIs and significance, per-class bars, confusion
matrices side by side (click a cell to read its texts), curves and calibration.
The chosen view (recipes, classes, section) lives in the URL query."""

import pandas as pd
import streamlit as st

from core.errors import InputError
from core.jobs.experiments import add_seeds
from core.jobs.progress import unfinished_note
from core.jobs.records import Status
from core.results import compare, figures
from core.results.experiment_results import experiment_results
from core.results.leaderboard import LEADERBOARD_CSS, build_leaderboard
from core.results.verdict import verdict
from core.runs.evaluate import metric_label
from core.runs.references import is_reference
from core.settings import get_settings
from core.strategies.recipe import display_order
from pages.common import (
    ensure_worker,
    experiment_picker,
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
def _leaderboard(root: str, experiment_id: int, n_finished: int, sort_by: str):
    """The leaderboard (tests and power: a few tenths of a second) once per set of finished runs and ranking."""
    return build_leaderboard(_results(root, experiment_id, n_finished), sort_by=sort_by)


@st.cache_data(ttl=60, show_spinner=False, max_entries=16)
def _confusions(root: str, experiment_id: int, n_finished: int):
    """recipe -> (confusion summed over seeds, classes), from the runs' stored evaluations."""
    return compare.pooled_confusions(store(), _results(root, experiment_id, n_finished))


def pooled_for(results, recipes: list[str]) -> dict:
    key = (str(store().root), int(results.experiment["id"]), len(results.finished))
    found = {r: _pooled(*key, r) for r in recipes}
    return {r: p for r, p in found.items() if p is not None}


def leaderboard(results, recipes: list[str]) -> None:
    metrics = results.headline_metrics()
    c = st.columns([2, 4])
    chosen = st.query_params.get("sort", "macro_f1")
    sort_by = c[0].selectbox("Rank by", metrics, index=metrics.index(chosen) if chosen in metrics else 0,
                             format_func=metric_label)
    st.query_params["sort"] = sort_by
    shown = c[1].multiselect("Columns", metrics, default=metrics, format_func=metric_label) or metrics
    full = _leaderboard(str(store().root), int(results.experiment["id"]), len(results.finished), sort_by)
    show_sentences(verdict(full))
    board = full.select(shown).only(recipes)
    st.html(f"<style>{LEADERBOARD_CSS}</style>{board.html()}")
    more_seeds(results)


def more_seeds(results) -> None:
    """Bring every recipe of this experiment to more seeds (finished runs are reused)."""
    limit = get_settings().max_seeds
    if results.seeds >= limit:
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
    st.caption("Summed over seeds; one shared colour scale. Click a cell to read the texts behind it.")
    cols = st.columns(min(3, len(matrices)))
    for i, (recipe, cm) in enumerate(matrices.items()):
        with cols[i % len(cols)]:
            fig = figures.confusion_heatmap(cm, summed[recipe][1], title=recipe, normalise=normalise, zmax=zmax,
                                            showscale=i == 0)
            event = st.plotly_chart(fig, width="stretch", key=f"cm.{recipe}", on_select="rerun",
                                    selection_mode="points")
            points = (event or {}).get("selection", {}).get("points", []) if event else []
            if points:
                st.session_state["cell"] = (recipe, points[0].get("y"), points[0].get("x"))
    cell_reader(results, pooled)


def cell_reader(results, pooled) -> None:
    st.markdown("**Texts behind a cell**")
    recipes = list(pooled)
    chosen = st.session_state.get("cell")
    c = st.columns(3)
    recipe = c[0].selectbox("Recipe", recipes, index=recipes.index(chosen[0]) if chosen and chosen[0] in recipes else 0)
    p = pooled[recipe]
    names = [figures.plain(x) for x in p.classes]
    default_true = names.index(chosen[1]) if chosen and chosen[1] in names else 0
    default_pred = names.index(chosen[2]) if chosen and chosen[2] in names else min(1, len(names) - 1)
    true_i = c[1].selectbox("True class", range(len(p.classes)), index=default_true, format_func=lambda i: p.classes[i])
    pred_i = c[2].selectbox("Predicted class", range(len(p.classes)), index=default_pred,
                            format_func=lambda i: p.classes[i])
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
    cls = st.selectbox("Class", range(len(first.classes)), format_func=lambda i: first.classes[i])
    cols = st.columns(3)
    for col, kind, title in zip(cols, ("pr", "roc", "calibration"), ("Precision–recall", "ROC", "Reliability")):
        points = {}
        for r, p in pooled.items():
            if cls < len(p.classes) and (pts := compare.curve_points(p, cls, kind)) is not None:
                points[f"{r} (Brier {results.mean_score('brier', r):.3f})" if kind == "calibration" else r] = pts
        col.plotly_chart(figures.curves(points, kind=kind, title=f"{title}: {first.classes[cls]}"),
                         width="stretch")
    lstm = [r for r in recipes if not is_reference(r)]
    st.plotly_chart(figures.learning_curves({r: compare.histories(results, store(), r) for r in lstm}),
                    width="stretch")


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
classes = c[1].multiselect("Classes", list(results.classes), default=query_list("class", list(results.classes)))
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
    leaderboard(results, recipes)
elif view == "Per class":
    per_class(results, recipes, classes)
elif view == "Confusion":
    confusion_grid(results, recipes, classes)
else:
    curves(results, recipes, classes)
