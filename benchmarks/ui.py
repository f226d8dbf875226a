"""Section ``ui``: page render times while two runs train, and profiling a
100,000-row upload.

* ``ui.p50_ms_while_training`` / ``ui.p95_ms_while_training``: full renders
  (see ``benchmarks.browser``) of the Data page (both plotly charts drawn) and
  the Compare page (its leaderboard grid, and its per-class view with the plotly
  bars drawn), each in a new tab, round-robin, while the worker trains two
  ``baseline`` runs (2 slots, one thread each) on the 10,000-row clothing
  sample. Chromium runs on the same 2 cores. One warm-up load per page (the
  app's first import of each page) is reported apart and not counted.
* ``data.profile_100k_s``: the clothing reviews resampled (with replacement,
  seed 0) to 100,000 rows, written as CSV bytes, then ``core.tables.read_table``
  + ``to_labeled_texts`` + ``core.profile.compute_profile`` — what the Data page
  does with an upload — timed on a quiet machine before anything else starts."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from core.experiments import ExperimentSpec
from core.profile import compute_profile
from core.store import Status
from core.tables import read_table, to_labeled_texts
from benchmarks import datasets
from benchmarks.app import start_app
from benchmarks.browser import Target, chromium, data_grid, full_render, plotly_bars
from benchmarks.context import Context
from benchmarks.lab import queue, start_worker

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
    return sum(1 for r in store.runs(experiment_id=experiment_id, status=Status.RUNNING.value)
               if r.progress and r.progress.get("epoch"))


def wait_training(store, experiment_id: int, n: int, worker, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while training_now(store, experiment_id) < n:
        if not worker.alive():
            raise RuntimeError(f"the worker exited before {n} runs trained:\n{worker.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n} runs were not training after {timeout_s:.0f} s:\n{worker.tail()}")
        time.sleep(0.5)


def require_finished(store, experiment_id: int) -> None:
    bad = [r for r in store.runs(experiment_id=experiment_id) if r.status != Status.FINISHED.value]
    if bad:
        raise RuntimeError(f"the experiment shown on Compare did not finish: {bad[0].recipe}: {bad[0].status} "
                           f"{bad[0].error}")


def percentiles(values: list[float]) -> dict:
    return {"p50_ms": float(np.percentile(values, 50)), "p95_ms": float(np.percentile(values, 95)),
            "max_ms": float(max(values)), "loads": len(values)}


def measure_pages(ctx: Context, store, url: str, dataset_id: str, display_id: int, load_id: int) -> dict:
    targets = [
        Target("data", f"?dataset={dataset_id}", plotly_bars(2)),
        Target("compare", f"compare?dataset={dataset_id}&experiment={display_id}", data_grid),
        Target("compare_per_class", f"compare?dataset={dataset_id}&experiment={display_id}&view=Per+class",
               plotly_bars(1)),
    ]
    loads, training, warmup = [], [], {}
    with chromium() as context:
        for target in targets:
            warmup[target.name] = full_render(context, url, target).ms
        for _ in range(ctx.config.ui_loads_per_target):
            for target in targets:
                training.append(training_now(store, load_id))
                loads.append(full_render(context, url, target))
    out = {**percentiles([l.ms for l in loads]), "first_load_ms": warmup, "runs_training_min": min(training),
           "runs_training_max": max(training), "page_errors": sum(l.errors for l in loads)}
    for target in targets:
        out[target.name] = percentiles([l.ms for l in loads if l.target == target.name])
    return out


def run(ctx: Context) -> dict:
    cfg = ctx.config
    data_result = profile_upload(ctx)
    data = datasets.stratified_sample(datasets.load("clothing_stars", ctx.datasets_dir), cfg.ui_rows)
    with ctx.fresh_store("ui") as store:
        dataset_id = store.add_dataset(data, name=data.name)
        display_id = queue(store, ExperimentSpec(
            dataset_id=dataset_id, recipes=cfg.ui_display_recipes, seeds=cfg.ui_display_seeds,
            settings=cfg.ui_display_settings, name="shown on Compare"), references=cfg.ui_display_references)
        endless = replace(cfg.settings, epochs=100_000, patience=100_000)  # cancelled once the pages are measured
        load_id = queue(store, ExperimentSpec(dataset_id=dataset_id, recipes=("baseline",), seeds=2, settings=endless,
                                              name="background training"), references=False)
        ctx.log("ui: training the experiment the Compare page shows, then two endless runs")
        worker, _ = start_worker(store.root, ctx.logs("ui-worker"))
        app = None
        try:
            wait_training(store, load_id, 2, worker, timeout_s=cfg.worker_timeout_s)
            require_finished(store, display_id)
            ctx.log("ui: two runs are training; starting the app and Chromium")
            app, url = start_app(store.root, ctx.logs("ui-app"))
            ui_result = measure_pages(ctx, store, url, dataset_id, display_id, load_id)
        finally:
            for run in store.runs(experiment_id=load_id):
                store.cancel(run.id)
            if worker.wait(60) is None:
                ctx.log("ui: the worker did not stop within 60 s of the cancels; stopping it")
            worker.stop()
            if app is not None:
                app.stop()
    met = ui_result["p95_ms"] < TARGET_MS and not ui_result["page_errors"]
    ui_result.update(rows=len(data), target_ms=TARGET_MS, target_met=bool(met),
                     p50_ms_while_training=ui_result["p50_ms"], p95_ms_while_training=ui_result["p95_ms"])
    ctx.log(f"ui: p50 {ui_result['p50_ms']:.0f} ms, p95 {ui_result['p95_ms']:.0f} ms over {ui_result['loads']} loads "
            f"(≥ {ui_result['runs_training_min']} runs training)")
    return {"ui": ui_result, "data": data_result}
