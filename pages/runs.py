"""Runs: live progress of every run, polled by a fragment; cancel and re-queue."""

import time

import streamlit as st

from core.store import Status
from pages.common import ensure_worker, experiment_picker, store

STATUS_ICON = {"queued": "🕒", "running": "🏃", "finished": "✅", "failed": "❌", "cancelled": "⛔",
               "interrupted": "⚠️"}


def progress_line(run) -> tuple[float, str]:
    p = run.progress or {}
    if run.status != "running" or not p:
        return (1.0 if run.status == "finished" else 0.0), ""
    epochs, epoch = p.get("epochs") or 1, p.get("epoch") or 0
    batches, batch = p.get("batches") or 1, p.get("batch") or 0
    fraction = min(1.0, ((epoch - 1) + batch / batches) / epochs) if epoch else 0.0
    parts = [p.get("stage", ""), f"epoch {epoch}/{epochs}"]
    if p.get("loss") == p.get("loss") and p.get("loss") is not None:
        parts.append(f"loss {p['loss']:.3f}")
    if p.get("val_macro_f1") is not None:
        parts.append(f"val macro-F1 {p['val_macro_f1']:.3f}")
    if p.get("eta_s") is not None:
        parts.append(f"≤ {p['eta_s']:.0f} s left")
    return max(0.0, fraction), " · ".join(x for x in parts if x)


@st.fragment(run_every=2)
def live_runs(experiment_id: int) -> None:
    runs = store().runs(experiment_id=experiment_id)
    counts = {s.value: sum(r.status == s.value for r in runs) for s in Status}
    st.write(" · ".join(f"{STATUS_ICON[k]} {k} {v}" for k, v in counts.items() if v) or "no runs")
    if counts["queued"] or counts["running"]:
        ensure_worker()
    interrupted = [r for r in runs if r.status in ("interrupted", "failed")]
    if interrupted and st.button(f"Re-queue {len(interrupted)} interrupted/failed runs"):
        for r in interrupted:
            store().requeue(r.id)
        st.rerun()
    for run in runs:
        with st.container(border=True):
            left, mid, right = st.columns([3, 5, 1])
            left.write(f"{STATUS_ICON[run.status]} **#{run.id}** `{run.recipe}` · seed {run.seed}")
            fraction, text = progress_line(run)
            if run.status == "running":
                mid.progress(fraction, text=text or "starting…")
            elif run.status == "finished":
                took = (run.finished or 0) - (run.started or 0)
                mid.caption("reused an identical finished run" if run.reused_from else f"finished in {took:.0f} s")
            elif run.error:
                mid.caption(run.error)
            else:
                mid.caption(run.status)
            if run.status in ("queued", "running") and right.button("Cancel", key=f"cancel.{run.id}"):
                store().cancel(run.id)
                st.rerun()
            if run.status in ("interrupted", "failed", "cancelled") and right.button("Re-queue", key=f"rq.{run.id}"):
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
    run_ids = [r.id for r in store().runs(experiment_id=experiment_id)]
    chosen = st.selectbox("Run", run_ids)
    log = store().root / "logs" / f"run-{chosen}.log"
    run = store().run(chosen)
    if run.error:
        st.error(run.error)
    st.code(log.read_text(encoding="utf-8")[-5000:] if log.exists() else "(no log: the run has reported no errors)",
            language=None)
