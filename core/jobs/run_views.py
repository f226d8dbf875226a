"""What the Runs page shows of an experiment's runs, built from store rows:
readable run names, one table per recipe on a page of runs, and a run's
per-epoch log. Kept out of the page so hundreds of runs cost a few tables,
not a container per run, and so the wording is tested without a browser."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pandas as pd

from core.data.wording import and_join, human_bytes, plural
from core.jobs.progress import run_activity, run_progress
from core.jobs.records import RunRow, Status
from core.jobs.run_files import load_optional_json, load_result
from core.jobs.store import ExperimentFiles, Store
from core.runs.references import is_reference
from core.strategies.recipe import display_order

STATUS_ICON = {Status.QUEUED: "🕒", Status.RUNNING: "🏃", Status.FINISHED: "✅", Status.FAILED: "❌",
               Status.CANCELLED: "⛔", Status.INTERRUPTED: "⚠️"}
RUNS_PER_PAGE = 50
# A run's history (``core.keras.train.fit``): key → column of the epoch log.
EPOCH_COLUMNS = {"stage": "stage", "epoch": "epoch", "loss": "loss", "val_loss": "validation loss",
                 "val_macro_f1": "validation macro-F1", "learning_rate": "learning rate", "seconds": "seconds"}


def run_name(run: RunRow) -> str:
    """A run as people call it: 'class_weight · seed 2 (#17)'."""
    return f"{run.recipe} · seed {run.seed} (#{run.id})"


def status_counts_line(counts: dict[Status, int]) -> str:
    """'✅ finished 3 · 🏃 running 1', in lifecycle order ('no runs' when empty)."""
    return " · ".join(f"{STATUS_ICON[s]} {s} {counts[s]}" for s in Status if counts.get(s)) or "no runs"


def run_detail(run: RunRow) -> str:
    """One phrase on where a run is: what it is doing, how it ended, or why."""
    if run.status in (Status.QUEUED, Status.RUNNING):
        return run_activity(run)
    if run.status is Status.FINISHED:
        if run.reused_from:
            return f"reused the identical finished run #{run.reused_from}"
        return f"finished in {(run.finished or 0) - (run.started or 0):.0f} s"
    if run.error:
        return run.error
    return "cancelled before it started" if run.status is Status.CANCELLED and run.started is None else str(run.status)


def _table_progress(run: RunRow) -> float | None:
    """A run's bar: full when finished, its epochs while running, empty when it
    ended without a result (a full bar would read as done)."""
    if run.status is Status.FINISHED:
        return 1.0
    return None if run.status.ended else run_progress(run).fraction


def runs_table(runs: list[RunRow]) -> pd.DataFrame:
    """One row per run: its name, status, progress (0…1, None when it ended without a result) and detail."""
    return pd.DataFrame({"run": [run_name(r) for r in runs],
                         "status": [f"{STATUS_ICON[r.status]} {r.status}" for r in runs],
                         "progress": [_table_progress(r) for r in runs],
                         "detail": [run_detail(r) for r in runs]},
                        columns=["run", "status", "progress", "detail"])


@dataclass(frozen=True)
class RecipeGroup:
    """A recipe's runs on the page shown, with the counts over all its runs."""

    recipe: str
    runs: list[RunRow]
    counts: dict[Status, int]
    total: int

    @property
    def heading(self) -> str:
        """'class_weight — 5 runs: ✅ finished 4 · 🏃 running 1 (2 on this page)'."""
        shown = f" ({len(self.runs)} on this page)" if len(self.runs) < self.total else ""
        return f"{self.recipe} — {plural(self.total, 'run')}: {status_counts_line(self.counts)}{shown}"


@dataclass(frozen=True)
class RunsPage:
    """One page of an experiment's runs, grouped by recipe."""

    groups: list[RecipeGroup]
    page: int  # 1-based, within 1…pages
    pages: int


def runs_page(runs: list[RunRow], page: int = 1, per_page: int = RUNS_PER_PAGE) -> RunsPage:
    """The runs ordered by recipe (baseline first, references last) and seed,
    cut into pages of ``per_page``; page ``page`` grouped by recipe. A page
    number out of range shows the nearest page."""
    order = {recipe: i for i, recipe in enumerate(display_order(r.recipe for r in runs))}
    ordered = sorted(runs, key=lambda r: (order[r.recipe], r.seed, r.id))
    pages = max(1, math.ceil(len(ordered) / per_page))
    page = min(max(1, page), pages)
    shown = ordered[(page - 1) * per_page: page * per_page]
    groups = []
    for recipe in dict.fromkeys(r.recipe for r in shown):
        everyone = [r for r in ordered if r.recipe == recipe]
        counts = {s: sum(r.status is s for r in everyone) for s in Status}
        groups.append(RecipeGroup(recipe, [r for r in shown if r.recipe == recipe], counts, len(everyone)))
    return RunsPage(groups, page, pages)


def page_labels(total: int, per_page: int = RUNS_PER_PAGE) -> list[str]:
    """One label per page of ``total`` runs: 'runs 1–50 of 120', 'runs 51–100 of 120', …"""
    return [f"runs {first}–{min(first + per_page - 1, total)} of {total}" for first in range(1, total + 1, per_page)]


def run_history(store: Store, run: RunRow) -> list[dict]:
    """A run's epochs so far: ``history.json`` of a finished run (its own or the
    one it reused), else the last epochs its progress reported (a running run,
    or one that ended without a result)."""
    if run.status is Status.FINISHED and run.result_dir:
        history = load_optional_json(store, run.result_dir, "history")
        if history is not None:
            return history
    return list((run.progress or {}).get("history") or [])


def run_notes(store: Store, run: RunRow) -> list[str]:
    """What a finished run noted about itself in ``result.json`` (its own, or the run's it reused): e.g. that it
    decided on an earlier run's model, how many words pretrained vectors covered, what augmentation added, or
    that a sampler generated nothing. These change how its numbers read, so the run log says them."""
    if run.status is not Status.FINISHED or not run.result_dir:
        return []
    try:
        notes = load_result(store, run.result_dir).get("notes") or []
    except (OSError, ValueError):
        return []
    return [str(note) for note in notes if note and note != "cancelled"]


def epoch_log(history: list[dict]) -> pd.DataFrame:
    """One row per epoch: stage (when the run fitted more than one model, e.g.
    an ensemble's members), epoch, loss, validation loss and macro-F1, learning
    rate and seconds (training + validation). Keys a history from older code
    lacks are left empty."""
    frame = pd.DataFrame(history)
    if frame.empty:
        return pd.DataFrame(columns=list(EPOCH_COLUMNS.values()))
    if "train_s" in frame or "val_s" in frame:
        frame["seconds"] = frame.reindex(columns=["train_s", "val_s"]).sum(axis=1, min_count=1)
    frame = frame.reindex(columns=list(EPOCH_COLUMNS))
    if frame["stage"].nunique(dropna=True) <= 1:
        frame = frame.drop(columns="stage")
    return frame.rename(columns=EPOCH_COLUMNS).reset_index(drop=True)


def no_epochs_reason(run: RunRow) -> str:
    """Why a run's epoch log is empty, in words."""
    if is_reference(run.recipe):
        return "A reference model is fitted in one step: it has no epochs."
    if run.status is Status.QUEUED:
        return "No epochs yet: the run is waiting in the queue."
    if run.status is Status.RUNNING:
        return f"No epoch has ended yet: {run_activity(run)}."
    if run.status is Status.FINISHED:
        return "This run's result holds no per-epoch history."
    return f"The run {run.status} before its first epoch ended."


def error_trace(store: Store, run: RunRow, limit: int = 5000) -> str | None:
    """The end of the trace a failed run left in ``logs/run-<id>.log`` (None without one)."""
    path = store.run_log_path(run.id)
    return path.read_text(encoding="utf-8", errors="replace")[-limit:] if path.is_file() else None


def default_run(runs: list[RunRow]) -> RunRow | None:
    """The run whose log to show first: the first running one, else the one that
    finished last, else the one that ended last (failures are one choice away)."""
    for candidates in ([r for r in runs if r.status is Status.RUNNING][:1],
                       [r for r in runs if r.status is Status.FINISHED], [r for r in runs if r.status.ended]):
        if candidates:
            return max(candidates, key=lambda r: (r.finished or 0, r.id))
    return runs[0] if runs else None


def cancel_words(cancelled: int, flagged: int) -> str:
    """What cancelling a whole experiment did (``Store.cancel_experiment``'s counts)."""
    said = ([f"{plural(cancelled, 'queued run')} cancelled"] if cancelled else []) + \
        ([f"{plural(flagged, 'running run')} stop{'s' if flagged == 1 else ''} at the next batch"] if flagged else [])
    return (and_join(said) + ".") if said else "Nothing to cancel: no run is queued or running."


def requeue_kinds(runs: list[RunRow]) -> str:
    """The ended runs a bulk re-queue puts back, by what ended them: "cancelled", "interrupted or failed"."""
    kinds = [status.value for status in (Status.CANCELLED, Status.INTERRUPTED, Status.FAILED)
             if any(r.status is status for r in runs)]
    return (", ".join(kinds[:-1]) + " or " + kinds[-1]) if len(kinds) > 1 else kinds[0]


def delete_question(experiment: dict, n_runs: int, files: ExperimentFiles) -> str:
    """The confirmation asked before deleting an experiment, with the space it frees."""
    one = files.kept == 1
    kept = (f" {plural(files.kept, 'result folder')} {'stays' if one else 'stay'}: other experiments reuse "
            f"{'it' if one else 'them'}.") if files.kept else ""
    return (f"Delete experiment #{experiment['id']} “{experiment['name']}” and its {plural(n_runs, 'run')}? "
            f"This frees {human_bytes(files.bytes)} ({plural(len(files.folders), 'result folder')} and "
            f"{plural(len(files.logs), 'log')}).{kept} It cannot be undone; Archive only hides it.")
