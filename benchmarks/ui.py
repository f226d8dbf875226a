"""Section ``ui``: page render times while two runs train, and profiling a
100,000-row upload.

* ``ui.p50_ms_while_training`` / ``ui.p95_ms_while_training``: full renders
  (see ``benchmarks.browser``) of the Data page (both plotly charts drawn) and
  the Compare page (its leaderboard grid, and its per-class view with the plotly
  bars drawn), each in a new tab, round-robin, while the worker trains two
  ``baseline`` runs (2 slots, one thread each, fixed benchmark settings) on
  the 10,000-row clothing sample. Chromium runs on the same 2 cores. One warm-up load per page (the
  app's first import of each page) is reported apart and not counted.
* ``data.profile_100k_s``: the clothing reviews resampled (with replacement,
  seed 0) to 100,000 rows, written as CSV bytes, then ``core.data.readers.read_table``
  + ``to_labeled_texts`` + ``core.data.profile.compute_profile`` — what the Data page
  does with an upload — timed on a quiet machine before anything else starts."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from benchmarks import datasets
from benchmarks.app import start_app
from benchmarks.browser import (
    Target,
    chromium,
    full_render,
    leaderboard,
    navigate,
    plotly_bars,
    script_done,
)
from benchmarks.context import Context
from benchmarks.lab import queue, start_worker
from core.data.profile import compute_profile
from core.data.readers import read_table
from core.data.validation import to_labeled_texts
from core.jobs.experiments import ExperimentSpec
from core.jobs.store import Status

TARGET_MS = 1000.0
PROFILE_TARGET_S = 3.0


def profile_upload(ctx: Context) -> dict:
    rows = ctx.config.profile_rows
    frame = datasets.resampled_frame("clothing_stars", ctx.datasets_dir, rows)
    payload = frame.to_csv(index=False).encode()
    choice = datasets.DATASETS["clothing_stars"].choice
    started = time.perf_counter()
    data = to_labeled_texts(read_table(payload, name="reviews_resampled.csv"), choice)
    loaded = time.perf_counter()
    profile = compute_profile(data)
    ended = time.perf_counter()
    ctx.log(f"ui: profiling a {rows:,}-row upload took {ended - started:.2f} s")
    return {"profile_100k_s": ended - started, "rows": rows, "mb": len(payload) / 2**20, "load_s": loaded - started,
            "profile_s": ended - loaded, "target_s": PROFILE_TARGET_S,
            "target_met": bool(ended - started < PROFILE_TARGET_S), "duplicates": profile.n_exact_duplicates}


def training_now(store, experiment_id: int) -> int:
    """Runs of ``experiment_id`` that are running and have reported training progress."""
    return sum(1 for r in store.runs(experiment=experiment_id, status=Status.RUNNING)
               if r.progress and r.progress.get("epoch"))


def wait_training(store, experiment_id: int, n: int, worker, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while training_now(store, experiment_id) < n:
        if not worker.alive():
            raise RuntimeError(f"the worker exited before {n} runs trained:\n{worker.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n} runs were not training after {timeout_s:.0f} s:\n{worker.tail()}")
        time.sleep(0.5)


def wait_finished(store, experiment_id: int, worker, timeout_s: float) -> None:
    """Wait until every run of ``experiment_id`` has ended; fail unless all finished."""
    deadline = time.monotonic() + timeout_s
    ended = {s for s in Status if s.ended}
    pending = lambda: any(r.status not in ended for r in store.runs(experiment=experiment_id))  # noqa: E731
    while pending():
        if not worker.alive() and pending():  # checked again: it may have ended its last run and left meanwhile
            raise RuntimeError(f"the worker exited before the experiment shown on Compare ended:\n{worker.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the experiment shown on Compare did not end within {timeout_s:.0f} s")
        time.sleep(0.5)
    bad = [r for r in store.runs(experiment=experiment_id) if r.status != Status.FINISHED.value]
    if bad:
        raise RuntimeError(f"the experiment shown on Compare did not finish: {bad[0].recipe}: {bad[0].status} "
                           f"{bad[0].error}")


def percentiles(values: list[float]) -> dict:
    return {"p50_ms": float(np.percentile(values, 50)), "p95_ms": float(np.percentile(values, 95)),
            "max_ms": float(max(values)), "loads": len(values)}


def page_targets(dataset_id: str, display_id: int) -> list[Target]:
    return [
        Target("data", f"?dataset={dataset_id}", plotly_bars(2)),
        Target("compare", f"compare?dataset={dataset_id}&experiment={display_id}", leaderboard),
        Target("compare_per_class", f"compare?dataset={dataset_id}&experiment={display_id}&view=Per+class",
               plotly_bars(1)),
    ]


def summary(loads: list, targets: list[Target]) -> dict:
    out = {**percentiles([l.ms for l in loads]), "page_errors": sum(l.errors for l in loads)}
    for target in targets:
        out[target.name] = percentiles([l.ms for l in loads if l.target == target.name])
    return out


def new_tab_loads(context, url: str, targets: list[Target], rounds: int, during=lambda: None) -> list:
    """``rounds`` full renders of every target in new tabs, round-robin; ``during`` is called before each."""
    loads = []
    for _ in range(rounds):
        for target in targets:
            during()
            loads.append(full_render(context, url, target))
    return loads


def page_switches(context, url: str, dataset_id: str, display_id: int, rounds: int,
                  during=lambda: None) -> tuple[list, dict]:
    """In one open tab, switch Data ↔ Compare through the sidebar ``rounds`` times each (the session keeps the
    dataset and the experiment shown, as for a user clicking through the app). The tab's first switch to each
    page (when the browser first loads that page's chart code) is returned apart, not counted."""
    data, compare = page_targets(dataset_id, display_id)[:2]
    page = context.new_page()
    try:
        page.goto(f"{url}/{compare.path}")
        compare.ready(page)
        script_done(page)
        loads, first = [], {}
        for i in range(rounds + 1):
            for link, path, target in (("Data", "", data), ("Compare", "compare", compare)):
                during()
                load = navigate(page, link, path, target)
                if i == 0:
                    first[target.name] = load.ms
                else:
                    loads.append(load)
        return loads, first
    finally:
        page.close()


def measure_idle(ctx: Context, context, url: str, dataset_id: str, display_id: int) -> dict:
    """The same renders with nothing training: what the page costs by itself."""
    targets = page_targets(dataset_id, display_id)
    rounds = max(1, ctx.config.ui_loads_per_target // 3)  # the full run: 8 rounds; --quick: 1
    warmup = {t.name: full_render(context, url, t).ms for t in targets}
    new_tab = summary(new_tab_loads(context, url, targets, rounds), targets)
    switches, first = page_switches(context, url, dataset_id, display_id, rounds)
    return {"first_load_ms": warmup, "new_tab": new_tab,
            "page_switch": {**summary(switches, targets[:2]), "first_switch_ms": first}}


def measure_training(ctx: Context, store, context, url: str, dataset_id: str, display_id: int, load_id: int) -> dict:
    targets = page_targets(dataset_id, display_id)
    training: list[int] = []
    count = lambda: training.append(training_now(store, load_id))  # noqa: E731
    loads = new_tab_loads(context, url, targets, ctx.config.ui_loads_per_target, count)
    switches, first = page_switches(context, url, dataset_id, display_id, ctx.config.ui_loads_per_target, count)
    return {**summary(loads, targets), "runs_training_min": min(training), "runs_training_max": max(training),
            "page_switch": {**summary(switches, targets[:2]), "first_switch_ms": first}}


def run(ctx: Context) -> dict:
    cfg = ctx.config
    data_result = profile_upload(ctx)
    data = datasets.stratified_sample(datasets.load("clothing_stars", ctx.datasets_dir), cfg.ui_rows)
    with ctx.fresh_store("ui") as store:
        dataset_id = store.add_dataset(data, name=data.name)
        display_id = queue(store, ExperimentSpec(
            dataset_id=dataset_id, recipes=cfg.ui_display_recipes, seeds=cfg.ui_display_seeds,
            settings=cfg.ui_display_settings, name="shown on Compare"), references=cfg.ui_display_references)
        ctx.log("ui: training the experiment the Compare page shows")
        worker, _ = start_worker(store.root, ctx.logs("ui-worker"))
        app, load_id = None, None
        try:
            wait_finished(store, display_id, worker, timeout_s=cfg.worker_timeout_s)
            worker.stop()  # the benchmark's worker leaves once its queue is empty; a new one trains the load
            app, url = start_app(store.root, ctx.logs("ui-app"))
            with chromium() as context:
                ctx.log("ui: nothing training; measuring the pages by themselves")
                idle = measure_idle(ctx, context, url, dataset_id, display_id)
                endless = replace(cfg.settings, epochs=100_000, patience=100_000)  # cancelled once measured
                load_id = queue(store, ExperimentSpec(dataset_id=dataset_id, recipes=("baseline",), seeds=2,
                                                      settings=endless, name="background training"), references=False)
                worker, _ = start_worker(store.root, ctx.logs("ui-worker"))
                wait_training(store, load_id, 2, worker, timeout_s=cfg.worker_timeout_s)
                ctx.log("ui: two runs are training; measuring again")
                ui_result = measure_training(ctx, store, context, url, dataset_id, display_id, load_id)
            ui_result.update(first_load_ms=idle["first_load_ms"], idle=idle)
        finally:
            for run in store.runs(experiment=load_id) if load_id is not None else []:
                store.cancel(run.id)
            if worker.wait(60) is None:
                ctx.log("ui: the worker did not stop within 60 s of the cancels; stopping it")
            worker.stop()
            if app is not None:
                app.stop()
    met = ui_result["p95_ms"] < TARGET_MS and not ui_result["page_errors"]
    switch = ui_result["page_switch"]
    ui_result.update(rows=len(data), target_ms=TARGET_MS, target_met=bool(met),
                     p50_ms_while_training=ui_result["p50_ms"], p95_ms_while_training=ui_result["p95_ms"],
                     page_switch_target_met=bool(switch["p95_ms"] < TARGET_MS and not switch["page_errors"]),
                     p95_ms_idle=ui_result["idle"]["new_tab"]["p95_ms"])
    ctx.log(f"ui: new tab p50 {ui_result['p50_ms']:.0f} ms, p95 {ui_result['p95_ms']:.0f} ms over {ui_result['loads']} "
            f"loads (≥ {ui_result['runs_training_min']} runs training; idle p95 {ui_result['p95_ms_idle']:.0f} ms); "
            f"page switch p95 {switch['p95_ms']:.0f} ms")
    return {"ui": ui_result, "data": data_result}
