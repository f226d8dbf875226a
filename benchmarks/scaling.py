"""Section ``scaling``: training time of the ``baseline`` recipe (2 seeds,
fixed benchmark settings, through the worker, fresh workspace per cell) against
dataset size — 1k, 5k and 20k clothing reviews at 2 parallel slots — and
against parallel slots — 1 and 2 at 5k texts. With 1 slot the two seeds train
one after the other, each process using every core; with 2 they train side by
side, one thread each."""

from __future__ import annotations

from benchmarks import datasets
from benchmarks.context import Context
from benchmarks.lab import lstm_window, queue, require_finished, run_rows, serve
from core.jobs.experiments import ExperimentSpec

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
    }}
