"""Runs: live progress of every run, polled by a fragment; cancel and re-queue."""

import time

import streamlit as st

from core.jobs.progress import run_progress
from core.jobs.records import Status
from pages.common import ensure_worker, experiment_picker, read_only, store

STATUS_ICON = {Status.QUEUED: "🕒", Status.RUNNING: "🏃", Status.FINISHED: "✅", Status.FAILED: "❌",
               Status.CANCELLED: "⛔", Status.INTERRUPTED: "⚠️"}


@st.fragment(run_every=2)
def live_runs(experiment_id: int) -> None:
    runs = store().runs(experiment=experiment_id)
    counts = {s: sum(r.status is s for r in runs) for s in Status}
    st.write(" · ".join(f"{STATUS_ICON[k]} {k} {v}" for k, v in counts.items() if v) or "no runs")
    if counts[Status.QUEUED] or counts[Status.RUNNING]:
        ensure_worker()
    writable = not read_only()  # read-only: no cancel or re-queue buttons
    interrupted = [r for r in runs if r.status in (Status.INTERRUPTED, Status.FAILED)] if writable else []
    if interrupted and st.button(f"Re-queue {len(interrupted)} interrupted/failed runs"):
        for r in interrupted:
            store().requeue(r.id)
        st.rerun()
    for run in runs:
        with st.container(border=True):
            left, mid, right = st.columns([3, 5, 1])
            left.write(f"{STATUS_ICON[run.status]} **#{run.id}** `{run.recipe}` · seed {run.seed}")
            progress = run_progress(run)
            if run.status is Status.RUNNING:
                mid.progress(progress.fraction, text=progress.text or "starting…")
            elif run.status is Status.FINISHED:
                took = (run.finished or 0) - (run.started or 0)
                mid.caption("reused an identical finished run" if run.reused_from else f"finished in {took:.0f} s")
            elif run.error:
                mid.caption(run.error)
            else:
                mid.caption(run.status)
            cancellable = writable and run.status in (Status.QUEUED, Status.RUNNING)
            if cancellable and right.button("Cancel", key=f"cancel.{run.id}"):
                store().cancel(run.id)
                st.rerun()
            if writable and run.status.requeueable and right.button("Re-queue", key=f"rq.{run.id}"):
                store().requeue(run.id)
                st.rerun()
    st.caption(f"updated {time.strftime('%H:%M:%S')}")


st.title("Runs")
experiment_id = experiment_picker()
if experiment_id is None:
    st.info("No experiments yet — go to **Experiment** to start one.")
    st.stop()
live_runs(experiment_id)
with st.expander("Run log"):
    run_ids = [r.id for r in store().runs(experiment=experiment_id)]
    chosen = st.selectbox("Run", run_ids)
    log = store().root / "logs" / f"run-{chosen}.log"
    run = store().run(chosen)
    if run.error:
        st.error(run.error)
    st.code(log.read_text(encoding="utf-8")[-5000:] if log.exists() else "(no log: the run has reported no errors)",
            language=None)
