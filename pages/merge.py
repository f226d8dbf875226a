"""Merge explorer: which classes a recipe confuses, what merging them is
predicted to do, and — once retrained — what it did."""

import streamlit as st

from core.errors import InputError
from core.jobs.records import Status
from core.results.figures import confusion_similarity, dendrogram, merge_effect_bars
from core.results.merge_effects import (
    GAIN_COLUMN,
    build_mapping,
    merge_effect,
    merge_inputs,
    mergeable_recipes,
    per_seed_table,
    submit_merge,
    suggestions,
    suggestions_frame,
)
from core.results.merge_suggestions import linkage_for
from pages.common import (
    ensure_worker,
    experiment_picker,
    read_only,
    set_experiment,
    show_error,
    store,
)

NUMBER = st.column_config.NumberColumn(format="%.3f")
OWN_CHOICE = "(choose the classes yourself)"


@st.cache_data(show_spinner="Reading the runs' test predictions…", max_entries=16)
def _inputs(workspace: str, experiment_id: int, recipe: str, finished_runs: tuple[int, ...]):
    """Cached per finished-run set, so a newly finished seed is picked up."""
    return merge_inputs(store(), experiment_id, recipe)


def _finished_runs(experiment_id: int, recipe: str) -> tuple[int, ...]:
    return tuple(r.id for r in store().runs(experiment=experiment_id, status=Status.FINISHED) if r.recipe == recipe)


def suggestion_section(inputs) -> list:
    found = suggestions(inputs)
    st.subheader("Suggestions")
    if not found:
        st.info("Nothing to suggest: merging needs at least three classes, so that two remain.")
        return []
    st.dataframe(suggestions_frame(found), hide_index=True,
                 column_config={"confusion": NUMBER, GAIN_COLUMN: NUMBER})
    st.caption(f"Over {len(inputs.seeds)} seed(s). **Confusion**: mean symmetric confusion within the group "
               "(row-normalised, so rare classes count as much as frequent ones); **confused as**: the share of "
               "each class's test rows predicted as the other, a → b. **Gain**: macro-F1 on the merged label set "
               "of the unmerged model's probabilities summed into the merged classes, minus that of its decisions "
               "mapped onto them, mean over seeds — the effect table's “predicted − unmerged” below. Both sides "
               "score the same merged labels, so fewer classes alone earn nothing: errors between the merged "
               "classes vanish from both, and the gain counts only rows the summed probabilities decide "
               "differently (near 0 for classes the model already tells apart; with a tuned decision rule it also "
               "holds plain argmax versus that rule). Ranked by gain, then confusion."
               + (" Ordinal labels: only neighbouring classes are suggested." if inputs.ordinal else ""))
    view = st.radio("Show", ["Dendrogram", "Symmetric confusion"], horizontal=True)
    if view == "Dendrogram":
        st.plotly_chart(dendrogram(linkage_for(inputs.confusion), inputs.classes))
    else:
        st.plotly_chart(confusion_similarity(inputs.similarity, inputs.classes))
    return found


def mapping_form(inputs, found: list) -> dict | None:
    st.subheader("Try a merge")
    starts = {" + ".join(s.classes): s.classes for s in found}
    start = st.selectbox("Start from", [*starts, OWN_CHOICE])
    selected = st.multiselect("Classes to merge", list(inputs.classes), default=list(starts.get(start, ())),
                              key=f"merge_classes_{inputs.experiment_id}_{inputs.recipe}_{start}")
    ordered = [c for c in inputs.classes if c in selected]
    group = st.text_input("Name of the merged class", value="+".join(ordered))
    if len(ordered) < 2:
        st.info("Pick at least two classes to merge.")
        return None
    try:
        return build_mapping(ordered, group, inputs.classes, ordinal=inputs.ordinal)
    except InputError as exc:
        show_error(exc)
        return None


def effect_section(inputs, mapping: dict) -> None:
    effect = merge_effect(store(), inputs, mapping)
    numbers = {c: NUMBER for c in effect.table.columns if c not in ("metric", "class")}
    st.dataframe(effect.table, hide_index=True, column_config=numbers)
    seeds = effect.table.attrs.get("seeds", {})
    st.caption("All numbers on the merged label set, mean over seeds. **unmerged**: the unmerged model's decisions "
               "mapped onto the merged classes; **predicted**: its test probabilities summed into the merged classes, "
               "then the most probable one; **measured**: a model retrained on the merged labels with the same seeds "
               "and split. The suggestions' gain is the macro_f1 row of “predicted − unmerged”. "
               f"Seeds: {', '.join(f'{k} {v}' for k, v in seeds.items())}.")
    st.plotly_chart(merge_effect_bars(effect.table))
    with st.expander("Per seed"):
        st.dataframe(per_seed_table(effect.per_seed), hide_index=True, column_config=numbers)
    for merged in effect.experiments[:1]:
        if merged.done:
            st.success(f"Measured by experiment #{merged.experiment_id} ({merged.finished} seeds).")
        else:
            st.info(f"Experiment #{merged.experiment_id} is retraining this merge: {merged.finished} of "
                    f"{merged.total} runs finished. The measured column appears as runs finish.")
    if not read_only() and st.button("Train this merge", type="primary",
                                     help="A new experiment: same dataset, seeds, split and settings; recipes "
                                          "merge(…) and this recipe + merge(…). Finished identical runs are reused."):
        set_experiment(inputs.experiment_id)  # stay here: the new experiment would otherwise be the current one
        try:
            new_id = submit_merge(store(), inputs.experiment_id, inputs.recipe, mapping)
        except InputError as exc:
            show_error(exc)
            return
        ensure_worker()
        st.success(f"Queued experiment #{new_id}. Follow it on the Runs page; predicted and measured appear "
                   "side by side here when its runs finish.")


st.title("Merge explorer")
experiment_id = experiment_picker()
if experiment_id is None:
    st.info("No experiments yet — go to Experiment to train some recipes first.")
else:
    recipes = mergeable_recipes(store(), experiment_id)
    if not recipes:
        st.info("No finished runs yet — go to Experiment (and follow the queue on Runs). Merge suggestions need a "
                "finished LSTM recipe trained on the original classes.")
    else:
        recipe = st.selectbox("Recipe", recipes, help="An LSTM recipe of this experiment with finished runs.")
        try:
            merge_data = _inputs(str(store().root), experiment_id, recipe, _finished_runs(experiment_id, recipe))
        except InputError as exc:
            show_error(exc)
        else:
            chosen = mapping_form(merge_data, suggestion_section(merge_data))
            if chosen is not None:
                effect_section(merge_data, chosen)
