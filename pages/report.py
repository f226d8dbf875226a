"""Report: download an experiment as a self-contained HTML report, or all its metrics as CSV / JSON."""

from functools import partial

import streamlit as st

from core.jobs.progress import unfinished_note
from core.results.experiment_results import experiment_results
from core.results.leaderboard import LEADERBOARD_CSS, build_leaderboard
from core.results.report import (
    build_html_report,
    export_name,
    metrics_csv,
    metrics_json,
)
from core.results.verdict import verdict
from pages.common import experiment_picker, show_sentences, store


@st.cache_data(ttl=60, show_spinner=False, max_entries=16)
def _leaderboard(root: str, experiment_id: int, n_finished: int):
    """The leaderboard once per set of finished runs (its tests and power take a few tenths of a second)."""
    return build_leaderboard(experiment_results(store(), experiment_id))


st.title("Report")
experiment_id = experiment_picker()
if experiment_id is None:
    st.info("No experiments yet — go to Experiment to train some recipes first.")
else:
    results = experiment_results(store(), experiment_id)
    if results.finished.empty:
        st.info("No finished runs yet — go to Experiment (and follow the queue on Runs). The report is built from "
                "finished runs.")
    else:
        workspace = store()  # the downloads run later, outside this script run: bind the store now
        if note := unfinished_note(results.runs["status"], covers="the report shows"):
            st.warning(note)
        st.caption("The HTML report holds the verdict, the leaderboard with marks against the baseline, the "
                   "experiment, the dataset profile, per-class bars and confusion matrices. It opens offline (plotly "
                   "is embedded).")
        left, middle, right = st.columns(3)
        left.download_button("HTML report", partial(build_html_report, workspace, experiment_id),
                             file_name=export_name(experiment_id, "report", "html"), mime="text/html",
                             on_click="ignore", type="primary")
        middle.download_button("Metrics (CSV)", partial(metrics_csv, workspace, experiment_id),
                               file_name=export_name(experiment_id, "metrics", "csv"), mime="text/csv",
                               on_click="ignore")
        right.download_button("Metrics (JSON)", partial(metrics_json, workspace, experiment_id),
                              file_name=export_name(experiment_id, "metrics", "json"), mime="application/json",
                              on_click="ignore")
        board = _leaderboard(str(workspace.root), experiment_id, len(results.finished))
        st.subheader("Verdict")
        show_sentences(verdict(board))
        st.subheader("Leaderboard")
        st.html(f"<style>{LEADERBOARD_CSS}</style>{board.html()}")
