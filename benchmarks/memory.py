"""Section ``memory``: resident memory of the product's processes.

* ``memory.worker_peak_rss_mb``: peak RSS of one training child — the
  ``baseline`` recipe at the fixed benchmark settings on the 10,000-row clothing sample,
  trained by the worker. The kernel's own high-water marks are read twice: the
  child's ``VmHWM`` (/proc/<pid>/status, polled while it runs) and the worker's
  ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` after it exits; the larger is kept.
* ``memory.app_rss_mb``: RSS of the Streamlit process after Chromium has
  visited every page once (new session per page), with that finished run in
  the workspace so the Compare, Predict and Report pages have content."""

from __future__ import annotations

from benchmarks import datasets
from benchmarks.app import PAGES, start_app
from benchmarks.browser import chromium, script_done, settled
from benchmarks.context import Context
from benchmarks.lab import queue, require_finished, run_rows, serve
from benchmarks.processes import rss_mb
from core.jobs.experiments import ExperimentSpec

WORKER_TARGET_MB = 1500.0
APP_TARGET_MB = 500.0


def visit_every_page(url: str, dataset_id: str, experiment_id: int) -> dict[str, int]:
    """Open each page in a new tab and wait for its script run to finish; exception boxes per page."""
    errors = {}
    with chromium() as context:
        for title, path in PAGES.items():
            page = context.new_page()
            try:
                page.goto(f"{url}/{path}?dataset={dataset_id}&experiment={experiment_id}", wait_until="commit")
                settled(page)
                script_done(page)
                errors[title] = page.locator("[data-testid='stException']").count()
            finally:
                page.close()
    return errors


def run(ctx: Context) -> dict:
    data = datasets.stratified_sample(datasets.load("clothing_stars", ctx.datasets_dir), ctx.config.memory_rows)
    with ctx.fresh_store("memory") as store:
        dataset_id = store.add_dataset(data, name=data.name)
        experiment_id = queue(store, ExperimentSpec(dataset_id=dataset_id, recipes=("baseline",), seeds=1,
                                                    settings=ctx.config.settings, name="memory"), references=False)
        ctx.log("memory: training one baseline run")
        served = serve(store, ctx.logs("memory-worker"), timeout_s=ctx.config.worker_timeout_s, poll_s=0.25)
        require_finished(run_rows(store, experiment_id), "memory")
        polled = max(served.lstm_vmhwm_mb.values(), default=None)
        worker_peak = max(v for v in (polled, served.children_max_rss_mb) if v is not None)
        ctx.log("memory: visiting every page of the app")
        app, url = start_app(store.root, ctx.logs("memory-app"))
        try:
            errors = visit_every_page(url, dataset_id, experiment_id)
            app_rss, app_hwm = rss_mb(app.pid, "VmRSS"), rss_mb(app.pid, "VmHWM")
        finally:
            app.stop()
    ctx.log(f"memory: training child peak {worker_peak:.0f} MB, app {app_rss:.0f} MB after {len(errors)} pages")
    return {"memory": {
        "worker_peak_rss_mb": worker_peak, "worker_polled_vmhwm_mb": polled,
        "worker_children_ru_maxrss_mb": served.children_max_rss_mb, "app_rss_mb": app_rss, "app_peak_rss_mb": app_hwm,
        "pages_visited": list(errors), "page_errors": errors, "rows": len(data),
        "worker_target_mb": WORKER_TARGET_MB, "app_target_mb": APP_TARGET_MB,
        "target_met": bool(worker_peak < WORKER_TARGET_MB and app_rss is not None and app_rss < APP_TARGET_MB),
    }}
