"""How far runs have got, in words and as fractions: one wording for the Runs
page, the Compare and Report pages' notes on unfinished runs, and the CLI's
waiting line."""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

from core.data.wording import and_join, plural, time_words
from core.jobs.records import ENDED, RunRow, Status
from core.runs.references import is_reference

# What a run that has ended without a result, or has not ended, is doing or did:
# (one run, several runs).
STATUS_PHRASES = {
    Status.RUNNING: ("is still running", "are still running"),
    Status.QUEUED: ("is waiting in the queue", "are waiting in the queue"),
    Status.CANCELLED: ("was cancelled", "were cancelled"),
    Status.FAILED: ("failed", "failed"),
    Status.INTERRUPTED: ("was interrupted", "were interrupted"),
}


@dataclass(frozen=True)
class RunProgress:
    fraction: float  # 0…1 of the epochs the run may take (early stopping may end it sooner)
    text: str  # e.g. "fit · epoch 2/10 · loss 0.512 · val macro-F1 0.431 · ≤ 41 s left"


def run_progress(run: RunRow) -> RunProgress:
    """The latest progress a running run reported (empty text before its first
    report; only the stage before its first epoch)."""
    p = run.progress or {}
    if run.status is not Status.RUNNING or not p:
        return RunProgress(1.0 if run.status is Status.FINISHED else 0.0, "")
    if not p.get("epoch"):
        return RunProgress(0.0, p.get("stage", ""))
    epochs, epoch = p.get("epochs") or 1, p["epoch"]
    batches, batch = p.get("batches") or 1, p.get("batch") or 0
    fraction = min(1.0, ((epoch - 1) + batch / batches) / epochs)
    parts = [p.get("stage", ""), f"epoch {epoch}/{epochs}"]
    loss = p.get("loss")
    if loss is not None and not math.isnan(loss):
        parts.append(f"loss {loss:.3f}")
    if p.get("val_macro_f1") is not None:
        parts.append(f"val macro-F1 {p['val_macro_f1']:.3f}")
    if p.get("eta_s") is not None:
        parts.append(f"≤ {p['eta_s']:.0f} s left")
    return RunProgress(max(0.0, fraction), " · ".join(x for x in parts if x))


def run_activity(run: RunRow) -> str:
    """What a queued or running run is doing now, in words. Before its first
    epoch a running run says which step it is in: the worker reading the data
    and drawing the split (no training process yet), the process starting, or
    the stage the run reported (loading TensorFlow, preparing the training set,
    building the vocabulary)."""
    if run.status is Status.QUEUED:
        return "waiting in the queue"
    if run.status is not Status.RUNNING:
        return str(run.status)
    text = run_progress(run).text
    if text:
        return text
    if run.pid is None:
        return "the worker is reading the dataset and drawing this seed's split"
    return "starting in a training process"


def unfinished_note(statuses: Iterable[Status | str], *, covers: str = "the numbers cover") -> str | None:
    """What happened to the runs that have no result, and what the page shows
    instead, e.g. '1 run was cancelled and 2 runs are still running; the numbers
    cover the 13 finished runs only.' None when every run finished."""
    counts = Counter(Status(s) for s in statuses)
    said = [f"{plural(counts[s], 'run')} {one if counts[s] == 1 else many}"
            for s, (one, many) in STATUS_PHRASES.items() if counts[s]]
    if not said:
        return None
    finished = counts[Status.FINISHED]
    return f"{and_join(said)}; {covers} the {plural(finished, 'finished run')} only."


@dataclass(frozen=True)
class ExperimentProgress:
    """An experiment's runs taken together: the share done, the counts per
    status, the time left (None while it cannot be told yet) and a line of text."""

    fraction: float
    counts: dict[Status, int]
    eta_s: float | None
    text: str


def _took(run: RunRow) -> float | None:
    """Seconds a finished run trained (None for a result reused from another run)."""
    if run.status is not Status.FINISHED or run.reused_from or run.started is None or run.finished is None:
        return None
    return max(0.0, run.finished - run.started)


def _typical_seconds(runs: Sequence[RunRow], now: float, prior: dict[str, float] | None = None) -> dict[str, float]:
    """How long a run of each recipe takes: the median of its finished runs;
    for LSTM recipes without one, the submit-time estimate ``prior`` scaled by
    how the timed recipes compared with theirs (this machine's pace), else the
    median of every finished LSTM run, else of what the running LSTM runs
    expect in all (elapsed + their own ETA)."""
    by_recipe: dict[str, list[float]] = {}
    for run in runs:
        if (took := _took(run)) is not None:
            by_recipe.setdefault(run.recipe, []).append(took)
    lstm = [t for recipe, times in by_recipe.items() if not is_reference(recipe) for t in times]
    if not lstm:
        lstm = [now - r.started + r.progress["eta_s"] for r in runs if r.status is Status.RUNNING and r.started
                and (r.progress or {}).get("eta_s") is not None and not is_reference(r.recipe)]
    typical = {recipe: statistics.median(times) for recipe, times in by_recipe.items()}
    prior = prior or {}
    pace = [typical[r] / prior[r] for r in typical if prior.get(r)]
    scale = statistics.median(pace) if pace else 1.0
    for recipe in {r.recipe for r in runs} - set(typical):
        if recipe in prior:
            typical[recipe] = prior[recipe] * scale
        elif lstm and not is_reference(recipe):
            typical[recipe] = statistics.median(lstm)
    return typical


def _time_left(runs: Sequence[RunRow], now: float, prior: dict[str, float] | None = None) -> float | None:
    """Seconds until every queued and running run has ended, with the runs now
    running in parallel sharing the queue. A recipe this experiment has not
    timed yet takes ``prior`` (the submit-time estimate of one run,
    ``core.jobs.estimate``); references nobody has timed count as nothing
    (seconds next to an LSTM's minutes); an LSTM recipe with neither makes the
    answer unknown (None)."""
    typical = _typical_seconds(runs, now, prior)
    running_left, queued_work = [], 0.0
    for run in runs:
        if run.status not in (Status.RUNNING, Status.QUEUED):
            continue
        expected = typical.get(run.recipe)
        if run.status is Status.RUNNING and (run.progress or {}).get("eta_s") is not None:
            running_left.append(float(run.progress["eta_s"]))
        elif expected is None and not is_reference(run.recipe):
            return None
        elif run.status is Status.RUNNING:
            running_left.append(max(0.0, (expected or 0.0) - (now - (run.started or now))))
        else:
            queued_work += expected or 0.0
    slots = max(1, len(running_left))
    return max((sum(running_left) + queued_work) / slots, max(running_left, default=0.0))


def experiment_progress(runs: Sequence[RunRow], now: float | None = None,
                        prior: dict[str, float] | None = None) -> ExperimentProgress:
    """The experiment's progress bar and line, e.g. '5 of 12 runs done
    (1 cancelled) · 2 running · 5 queued · about 3 min left'. A run counts as
    done when it ended, whatever the way; a running one by its share of epochs."""
    now = time.time() if now is None else now
    counts = {s: n for s, n in Counter(r.status for r in runs).items() if n}
    if not runs:
        return ExperimentProgress(0.0, {}, None, "no runs")
    done = sum(n for s, n in counts.items() if s in ENDED)
    fraction = sum(1.0 if r.status.ended else run_progress(r).fraction for r in runs) / len(runs)
    not_finished = [f"{counts[s]} {s}" for s in (Status.CANCELLED, Status.FAILED, Status.INTERRUPTED) if s in counts]
    parts = [f"{done} of {plural(len(runs), 'run')} done" + (f" ({', '.join(not_finished)})" if not_finished else "")]
    parts += [f"{counts[s]} {s}" for s in (Status.RUNNING, Status.QUEUED) if s in counts]
    eta = None
    if Status.RUNNING in counts or Status.QUEUED in counts:
        eta = _time_left(runs, now, prior)
        parts.append(f"{time_words(eta)} left" if eta is not None else "time left: known once a run has finished")
    return ExperimentProgress(min(1.0, fraction), counts, eta, " · ".join(parts))
