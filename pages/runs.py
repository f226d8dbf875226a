"""Runs: an experiment's progress and time left, its runs grouped by recipe and
paged (polled by fragments), a run's per-epoch log; cancel and re-queue runs,
cancel, archive or delete the whole experiment."""

import time

import streamlit as st

from core.data.wording import human_bytes
from core.errors import InputError
from core.jobs.estimate import DataShape, estimate
from core.jobs.experiments import ExperimentSpec
from core.jobs.progress import experiment_progress
from core.jobs.records import Status
from core.jobs.run_views import (
    RUNS_PER_PAGE,
    STATUS_ICON,
    cancel_words,
    default_run,
    delete_question,
    epoch_log,
    error_trace,
    no_epochs_reason,
    page_labels,
    requeue_kinds,
    run_detail,
    run_history,
    run_name,
    run_notes,
    runs_page,
    runs_table,
    status_counts_line,
)
from core.settings import get_settings
from pages.common import (
    current_dataset_id,
    ensure_worker,
    experiment_picker,
    plain_markdown,
    read_only,
    set_dataset,
    set_experiment,
    show_error,
    store,
)

RUN_COLUMNS = {"run": st.column_config.TextColumn("run"),
               "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0,
                                                           format="percent"),
               "detail": st.column_config.TextColumn("doing / outcome", width="large")}
EPOCH_COLUMNS = {**{name: st.column_config.NumberColumn(format="%.3f")
                    for name in ("loss", "validation loss", "validation macro-F1")},
                 "learning rate": st.column_config.NumberColumn(format="%.2g"),
                 "seconds": st.column_config.NumberColumn(format="%.1f")}


def flash(message: str) -> None:
    """Keep a message for the next script run (an action that reruns the page)."""
    st.session_state["runs.flash"] = message


def show_flash() -> None:
    if message := st.session_state.pop("runs.flash", None):
        st.success(message)


@st.cache_data(show_spinner=False, max_entries=8)
def run_estimates(experiment_id: int) -> dict[str, float]:
    """One run's estimated seconds per recipe (``core.jobs.estimate``), for the time left before any run of a
    recipe has finished."""
    experiment = store().experiment(experiment_id)
    spec = ExperimentSpec.from_json({**experiment["spec"], "dataset_id": experiment["dataset_id"]})
    try:
        shape = DataShape.of(store().load_dataset(spec.dataset_id))
    except (InputError, OSError):  # its dataset is gone or unreadable: the time left waits for measured runs
        return {}
    return estimate(spec, shape, slots=get_settings().slots).seconds_by_recipe


@st.fragment(run_every=2)
def live_runs(experiment_id: int) -> None:
    """The experiment's progress bar, its status counts, and one page of its runs
    as one table per recipe: a few elements per redraw, however many runs."""
    runs = store().runs(experiment=experiment_id)
    progress = experiment_progress(runs, prior=run_estimates(experiment_id))
    st.progress(progress.fraction, text=progress.text)
    st.write(status_counts_line(progress.counts))
    if progress.counts.get(Status.QUEUED) or progress.counts.get(Status.RUNNING):
        ensure_worker()
    labels, page = page_labels(len(runs)), 1
    if len(labels) > 1:
        page = st.selectbox("Page", range(1, len(labels) + 1), key=f"runs.page.{experiment_id}",
                            format_func=lambda p: labels[p - 1])
    for group in runs_page(runs, page, RUNS_PER_PAGE).groups:
        st.markdown(f"**{plain_markdown(group.heading)}**")
        st.dataframe(runs_table(group.runs), hide_index=True, column_config=RUN_COLUMNS)
    st.caption(f"updated {time.strftime('%H:%M:%S')}")


@st.fragment(run_every=2)
def run_log(experiment_id: int) -> None:
    """One run: where it is, its own cancel / re-queue, and its epochs so far."""
    runs = store().runs(experiment=experiment_id)
    if not runs:
        return
    by_id = {r.id: r for r in runs}
    ids = list(by_id)
    st.subheader("Run log")
    chosen = st.selectbox("Run", ids, index=ids.index(default_run(runs).id), format_func=lambda i: run_name(by_id[i]),
                          key=f"runs.log.{experiment_id}")
    run = by_id[chosen]
    if run.status in (Status.FAILED, Status.INTERRUPTED) and run.error:
        st.error(f"{STATUS_ICON[run.status]} {run.status}: {run.error}")
    else:
        st.markdown(plain_markdown(f"{STATUS_ICON[run.status]} {run.status} — {run_detail(run)}"))
    writable = not read_only()  # read-only: no cancel or re-queue buttons
    if writable and run.status in (Status.QUEUED, Status.RUNNING) and st.button("Cancel this run",
                                                                                key=f"cancel.{run.id}"):
        store().cancel(run.id)
        st.rerun()
    if writable and run.status.requeueable and st.button("Re-queue this run", key=f"rq.{run.id}"):
        store().requeue(run.id)
        st.rerun()
    for note in run_notes(store(), run):
        st.info(plain_markdown(note), icon="ℹ️")
    epochs = epoch_log(run_history(store(), run))
    if epochs.empty:
        st.caption(no_epochs_reason(run))
    else:
        st.dataframe(epochs, hide_index=True, column_config=EPOCH_COLUMNS)
    trace = error_trace(store(), run)
    if trace:
        with st.expander("Error trace"):
            st.code(trace, language=None)


def experiment_actions(experiment_id: int) -> None:
    """Cancel, re-queue, archive or delete the whole experiment (each a separate block)."""
    runs = store().runs(experiment=experiment_id)
    active = [r for r in runs if r.status in (Status.QUEUED, Status.RUNNING)]
    again = [r for r in runs if r.status.requeueable]
    cancel_col, requeue_col, archive_col, delete_col = st.columns(4)
    if active and cancel_col.button(f"Cancel {len(active)} queued or running", key="experiment.cancel"):
        st.success(cancel_words(*store().cancel_experiment(experiment_id)))
    if again and requeue_col.button(f"Re-queue {len(again)} {requeue_kinds(again)}", key="experiment.requeue"):
        for r in again:
            store().requeue(r.id)
        st.rerun()
    if archive_col.button("Archive", key="experiment.archive",
                          help="Hide this experiment from the pickers; its finished runs and files stay, its queued "
                               "and running runs are cancelled. Restore it under Archived experiments at the bottom "
                               "of this page; its cancelled runs can then be re-queued with one button."):
        stopped = store().archive_experiment(experiment_id)
        flash(f"Experiment #{experiment_id} archived." + (f" {cancel_words(*stopped)}" if any(stopped) else ""))
        st.rerun()
    if delete_col.button("Delete…", key="experiment.delete"):
        st.session_state["runs.delete"] = experiment_id
    if st.session_state.get("runs.delete") == experiment_id:
        st.warning(delete_question(store().experiment(experiment_id), len(runs),
                                   store().experiment_files(experiment_id)))
        yes, no, _ = st.columns([1, 1, 4])
        if yes.button("Delete it", type="primary", key="experiment.delete.yes"):
            try:
                freed = store().delete_experiment(experiment_id)
            except InputError as exc:
                show_error(exc)
            else:
                st.session_state.pop("runs.delete", None)
                flash(f"Experiment #{experiment_id} deleted; {human_bytes(freed)} freed.")
                st.rerun()
        if no.button("Keep it", key="experiment.delete.no"):
            st.session_state.pop("runs.delete", None)
            st.rerun()


def archived_experiments() -> None:
    """Archived experiments of every dataset, each with a Restore button."""
    archived = [e for e in store().experiments(include_archived=True) if e["archived"]]
    if not archived:
        return
    with st.expander(f"Archived experiments ({len(archived)})"):
        for experiment in archived:
            name_col, restore_col = st.columns([4, 1])
            name_col.markdown(plain_markdown(f"#{experiment['id']} {experiment['name']}"))
            if restore_col.button("Restore", key=f"restore.{experiment['id']}"):
                store().archive_experiment(experiment["id"], archived=False)
                if experiment["dataset_id"] != current_dataset_id():
                    set_dataset(experiment["dataset_id"])
                set_experiment(experiment["id"])
                flash(f"Experiment #{experiment['id']} restored.")
                st.rerun()


st.title("Runs")
show_flash()
experiment_id = experiment_picker()
if experiment_id is None:
    st.info("No experiments yet — go to **Experiment** to start one.")
else:
    if not read_only():  # read-only: no cancel, re-queue, archive or delete
        experiment_actions(experiment_id)
    live_runs(experiment_id)
    run_log(experiment_id)
if not read_only():
    archived_experiments()
