"""Section ``scaling``: training time of the ``baseline`` recipe (2 seeds,
fixed benchmark settings, through the worker, fresh workspace per cell) against
dataset size — 1k, 5k and 20k clothing reviews at 2 parallel slots — and
against parallel slots — 1 and 2 at 5k texts. With 1 slot the two seeds train
one after the other, each process using every core; with 2 they train side by
side, one thread each.

Then the executors (issue 19): the benchmark experiment of the ``experiment``
section (its recipes, seeds and rows, references included, fixed benchmark
settings) from submit to its last run, once through the local executor and
once through Ray — a Ray instance the worker starts on this machine, its
start-up inside the window: ``local_wall_s``, ``ray_wall_s`` and
``ray_overhead_s_per_run`` = (ray − local) ÷ runs. From these, the runs per
hour the same work would reach on 1, 4 and 16 two-core Ray nodes
(``runs_per_hour``): the steady state of one node (its wall time less Ray's
start-up, per run and slot) times the nodes' slots. Against that, the one
serial step of a cluster: the worker writing each result
(``worker_write_s_per_run``: a finished LSTM run's own result written again
into new run rows — staging folder, files, SQLite, rename). ``--quick`` reuses the
experiment section's local timing when that section ran in the same
invocation (the same experiment; quick numbers only show that every part runs)."""

from __future__ import annotations

import json
import os
import statistics
import time

import numpy as np

from benchmarks import datasets
from benchmarks.config import lab_slots
from benchmarks.context import Context
from benchmarks.experiment import benchmark_experiment, timed
from benchmarks.lab import lstm_window, queue, require_finished, run_rows, serve
from core.jobs.experiments import ExperimentSpec
from core.jobs.runner import write_result
from core.jobs.store import Status, Store
from core.jobs.tasks import RunResult
from core.runs.references import is_reference

NODES = (1, 4, 16)  # two-core Ray nodes of the runs-per-hour estimate
NODE_SLOTS = 2
WRITES = 10  # results written again to time the worker's writes


def stored_result(store: Store, run) -> RunResult:
    """A finished run's result as the worker received it, read back from its folder."""
    folder = store.path_inside(run.result_dir)
    summary = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    evaluation = summary.pop("evaluation")
    with np.load(folder / "predictions.npz", allow_pickle=False) as npz:
        predictions = {k: npz[k] for k in npz.files}
    optional = {name: json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
                for name in ("history", "encoder") if (folder / f"{name}.json").exists()}
    metrics = {(row.scope, row.name): row.value for row in store.metrics([run.id]).itertuples()}
    model = (folder / "model.keras").read_bytes() if (folder / "model.keras").exists() else None
    return RunResult(summary, evaluation, metrics, predictions, model=model, **optional)


def write_cost(store: Store, experiment_id: int) -> dict:
    """Seconds the worker spends writing one result: an LSTM run's result written ``WRITES`` times into new
    run rows of the same experiment (claimed as the worker claims them)."""
    lstm = [r for r in store.runs(experiment=experiment_id, status=Status.FINISHED) if not is_reference(r.recipe)]
    if not lstm:
        return {}
    result = stored_result(store, lstm[0])
    seconds = []
    for n in range(WRITES):
        run_id = store.add_run(experiment_id=experiment_id, recipe=lstm[0].recipe, seed=lstm[0].seed,
                               fingerprint=f"write-cost-{n}")
        claimed = store.claim_next(os.getpid())
        if claimed is None or claimed.id != run_id:
            raise RuntimeError(f"timing the worker's writes: run {run_id} was not the one queued")
        started = time.perf_counter()
        write_result(store, run_id, result)
        seconds.append(time.perf_counter() - started)
    return {"worker_write_s_per_run": statistics.median(seconds)}

SIZE_SLOTS = 2
SLOTS_SIZE = "5k"


def cell(ctx: Context, label: str, rows: int, slots: int) -> dict:
    data = datasets.stratified_sample(datasets.load("clothing_stars", ctx.datasets_dir), rows)
    with ctx.fresh_store(f"scaling-{label}-{slots}") as store:
        dataset_id = store.add_dataset(data, name=data.name)
        spec = ExperimentSpec(dataset_id=dataset_id, recipes=("baseline",), seeds=ctx.config.scaling_seeds,
                              settings=ctx.config.settings, name=f"scaling {label} × {slots} slots")
        experiment_id = queue(store, spec, references=False)
        serve(store, ctx.logs(f"scaling-{label}-{slots}"), slots=slots, timeout_s=ctx.config.worker_timeout_s)
        found = run_rows(store, experiment_id)
    require_finished(found, f"scaling {label} × {slots} slots")
    window = lstm_window(found)
    result = {"size": label, "rows": len(data), "train_rows": found[0].get("train_size"), "slots": slots,
              "runs": window["runs"], "wall_s": window["wall_s"], "samples_per_s": window["samples_per_s"],
              "trained_samples": window["trained_samples"], "epochs_run": window["epochs_run"],
              "fit_s_per_run": window["fit_seconds"] / window["runs"]}
    ctx.log(f"scaling {label} × {slots} slots: {result['wall_s']:.1f} s, {result['samples_per_s']:.0f} samples/s")
    return result


def executors(ctx: Context) -> dict:
    """The benchmark experiment through the local executor, then through Ray (started by the worker)."""
    cfg = ctx.config
    data = datasets.stratified_sample(datasets.load("clothing_stars", ctx.datasets_dir), cfg.experiment_rows)
    spec = benchmark_experiment(cfg)
    local = ctx.measured.get("benchmark experiment") if cfg.quick else None
    local = local or timed(ctx, data, spec, "scaling-executor-local", executor="local")
    ray = timed(ctx, data, spec, "scaling-executor-ray", executor="ray", inspect=write_cost)
    for name, found in (("local", local), ("ray", ray)):
        if found["failed_runs"]:
            raise RuntimeError(f"scaling, {name} executor: {len(found['failed_runs'])} of {found['runs']} runs did "
                               f"not finish — {'; '.join(found['failed_runs'][:5])}")
    runs, slots = local["runs"], lab_slots()
    steady_s_per_run = (ray["wall_s"] - (ray["startup_s"] or 0.0)) * slots / runs  # one slot's seconds per run
    ctx.log(f"scaling executors: local {local['wall_s']:.1f} s, Ray {ray['wall_s']:.1f} s for {runs} runs")
    return {
        "local_wall_s": local["wall_s"], "ray_wall_s": ray["wall_s"],
        "ray_overhead_s_per_run": (ray["wall_s"] - local["wall_s"]) / runs,
        "executor_runs": runs, "executor_rows": len(data), "executor_slots": slots,
        "local_startup_s": local["startup_s"], "ray_startup_s": ray["startup_s"],
        "ray_slot_s_per_run": steady_s_per_run,
        "runs_per_hour": {str(n): 3600 * n * NODE_SLOTS / steady_s_per_run for n in NODES},
        "result_mb_per_run": ray["result_mb_per_run"], "dataset_mb": ray["dataset_mb"],
        "worker_write_s_per_run": ray.get("worker_write_s_per_run"),
        "worker_writes_per_hour": 3600 / ray["worker_write_s_per_run"] if ray.get("worker_write_s_per_run") else None,
        "executors": {"local": local, "ray": ray},
    }


def run(ctx: Context) -> dict:
    sizes = ctx.config.scaling_sizes
    table = [cell(ctx, label, rows, SIZE_SLOTS) for label, rows in sizes.items()]
    middle = next(r for r in table if r["size"] == SLOTS_SIZE)
    one_slot = cell(ctx, SLOTS_SIZE, sizes[SLOTS_SIZE], 1)
    table.append(one_slot)
    return {"scaling": {
        "seeds": ctx.config.scaling_seeds, "size": {r["size"]: r for r in table if r["slots"] == SIZE_SLOTS},
        "slots": {"1": one_slot, "2": middle},
        "slots_speedup": middle["samples_per_s"] / one_slot["samples_per_s"],
        "table": table,
        **executors(ctx),
    }}
