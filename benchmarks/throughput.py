"""Section ``throughput``: training samples/s of the product (``baseline``
recipe through the job runner, default slots) against the naive tutorial
pipeline, on a 10,000-row stratified sample of the clothing reviews and on
SMS spam, and the product's fraction of the machine's fp32 GEMM peak.

Definitions (docs/architecture.md): samples/s = training rows × epochs ÷ wall
time of the fits, summed over runs training at the same time. Naive: seeds one
after the other, so Σ samples ÷ Σ fit seconds. Lab: Σ trained samples ÷ wall
time from the first run's start to the last run's end (so process start-up,
TensorFlow import, encoding, evaluation and saving count against the lab).
Useful FLOPs per training sample = 3 × 8·h·(e+h) per LSTM layer and direction
× real (unpadded) tokens; peak = numpy fp32 GEMM on large square matrices on
every core, measured in the same invocation."""

from __future__ import annotations

import json
import os
import statistics

from benchmarks import datasets
from benchmarks.context import Context
from benchmarks.lab import lstm_window, queue, require_finished, run_rows, serve
from benchmarks.processes import child_env, run_python
from core.data.split import SplitSpec
from core.jobs.experiments import ExperimentSpec
from core.settings import TrainSettings

SPLIT = SplitSpec()  # the product's default shares, as ExperimentSpec uses them


def useful_flops_per_sample(settings: TrainSettings, real_tokens: float, *, layers: int = 1,
                            directions: int = 1) -> float:
    """3 (forward + two backward GEMMs) × 8·h·(e+h) per token, per layer and direction."""
    h, e = settings.units, settings.embedding_dim
    return 3.0 * 8.0 * h * (e + h) * real_tokens * layers * directions


def measure_peak(ctx: Context) -> dict:
    """numpy's fp32 GEMM peak in a child without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE."""
    env = {k: v for k, v in child_env().items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    out = ctx.scratch / "peak.json"
    s = ctx.config.settings
    run_python("benchmarks.peak", [str(out), "--n", str(ctx.config.peak_n), "--min-seconds",
                                   str(ctx.config.peak_min_seconds), "--batch", str(s.batch_size),
                                   "--width", str(s.embedding_dim + s.units), "--units", str(s.units)],
               log=ctx.logs("peak") / "peak.log", env=env, timeout_s=600)
    peak = json.loads(out.read_text())
    peak["openblas_env_in_caller"] = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                                      if k in os.environ}
    return peak


def run_naive(ctx: Context, store, dataset_ids: dict[str, str]) -> dict[str, list[dict]]:
    """The naive pipeline on every dataset, one child process (TensorFlow imported once)."""
    job = {"workspace": str(store.root), "jobs": [{"name": n, "dataset_id": d} for n, d in dataset_ids.items()],
           "seeds": list(ctx.config.throughput_seeds), "test_share": SPLIT.test_share,
           "validation_share": SPLIT.validation_share,
           "settings": ctx.config.settings.to_json(), "batch_size": ctx.config.naive_batch,
           "length_cap": ctx.config.naive_length_cap}
    job_path, out_path = ctx.scratch / "naive-job.json", ctx.scratch / "naive-out.json"
    job_path.write_text(json.dumps(job))
    run_python("benchmarks.naive", [str(job_path), str(out_path)], log=ctx.logs("naive") / "naive.log",
               timeout_s=ctx.config.worker_timeout_s)
    return json.loads(out_path.read_text())


def run_lab(ctx: Context, store, dataset_id: str, name: str) -> list[dict]:
    """The product's baseline, seeds run by the worker with its default slots; LSTM runs only."""
    spec = ExperimentSpec(dataset_id=dataset_id, recipes=("baseline",), seeds=len(ctx.config.throughput_seeds),
                          settings=ctx.config.settings, name=f"throughput {name}")
    experiment_id = queue(store, spec, references=False)
    serve(store, ctx.logs(f"lab-{name}"), timeout_s=ctx.config.worker_timeout_s)
    rows = run_rows(store, experiment_id)
    require_finished(rows, f"throughput ({name})")
    return rows


def compare(naive: list[dict], lab_rows: list[dict], settings: TrainSettings, peak_gflops: float) -> dict:
    window = lstm_window(lab_rows)
    naive_rate = sum(r["trained_samples"] for r in naive) / sum(r["fit_seconds"] for r in naive)
    lab_rate = window["samples_per_s"]
    lab_tokens = statistics.mean(r["lab_real_tokens"] for r in naive)
    naive_tokens = statistics.mean(r["naive_real_tokens"] for r in naive)
    lab_flops = useful_flops_per_sample(settings, lab_tokens)
    naive_flops = useful_flops_per_sample(settings, naive_tokens)
    naive_f1 = statistics.mean(r["macro_f1"] for r in naive)
    lab_f1 = statistics.mean(r["macro_f1"] for r in lab_rows if r["macro_f1"] is not None)
    ratio = lab_rate / naive_rate
    return {
        "naive_samples_per_s": naive_rate, "lab_samples_per_s": lab_rate, "ratio": ratio,
        "naive_macro_f1": naive_f1, "lab_macro_f1": lab_f1,
        "target_met": bool(ratio >= 3 and lab_f1 >= naive_f1 - 0.01),
        "lab_fit_samples_per_s": window["fit_rate_sum"], "lab_wall_s": window["wall_s"],
        "lab_trained_samples": window["trained_samples"], "lab_epochs_run": window["epochs_run"],
        "naive_fit_s": sum(r["fit_seconds"] for r in naive),
        "naive_trained_samples": sum(r["trained_samples"] for r in naive),
        "naive_epochs": naive[0]["epochs"], "naive_fixed_len": [r["fixed_len"] for r in naive],
        "lab_max_len": [r["lab_max_len"] for r in naive], "train_rows": [r["train_rows"] for r in naive],
        "mean_tokens": statistics.mean(r["mean_tokens"] for r in naive),
        "lab_real_tokens": lab_tokens, "naive_real_tokens": naive_tokens,
        "lab_padding": statistics.mean(r["lab_padding"] for r in naive),
        "naive_padding": statistics.mean(r["naive_padding"] for r in naive),
        "useful_flops_per_sample": lab_flops,
        "fraction_of_peak": lab_rate * lab_flops / (peak_gflops * 1e9),
        "naive_fraction_of_peak": naive_rate * naive_flops / (peak_gflops * 1e9),
    }


def run(ctx: Context) -> dict:
    cfg = ctx.config
    ctx.log("throughput: measuring the fp32 GEMM peak")
    peak = measure_peak(ctx)
    ctx.log(f"throughput: peak {peak['peak_gflops']:.0f} GFLOP/s")
    samples = {
        "clothing": datasets.stratified_sample(datasets.load("clothing_stars", ctx.datasets_dir), cfg.throughput_rows),
        "sms": datasets.stratified_sample(datasets.load("sms_spam", ctx.datasets_dir), cfg.sms_rows),
    }
    out: dict = {"peak": peak, "settings": cfg.settings.to_json(), "naive_batch": cfg.naive_batch}
    with ctx.fresh_store("throughput") as store:
        ids = {name: store.add_dataset(data, name=data.name) for name, data in samples.items()}
        ctx.log("throughput: naive pipeline on " + ", ".join(f"{n} ({len(d):,} rows)" for n, d in samples.items()))
        naive = run_naive(ctx, store, ids)
        for name, data in samples.items():
            ctx.log(f"throughput: the lab's baseline on {name} through the job runner")
            result = compare(naive[name], run_lab(ctx, store, ids[name], name), cfg.settings, peak["peak_gflops"])
            result["rows"] = len(data)
            ctx.log(f"throughput {name}: naive {result['naive_samples_per_s']:.0f}/s, lab "
                    f"{result['lab_samples_per_s']:.0f}/s (×{result['ratio']:.2f}); macro-F1 "
                    f"{result['naive_macro_f1']:.3f} vs {result['lab_macro_f1']:.3f}")
            if name == "clothing":
                out.update(result)
            else:
                out[name] = result
    out["peak_gflops"] = peak["peak_gflops"]
    return {"throughput": out}
