"""``python -m benchmarks --quick --out <tmp>`` end to end: every result key of
the benchmark spec lands in ``<tmp>/benchmarks/results.json``, BENCHMARKS.md
and the figures are written in ``<tmp>``, and nothing in the repository
gains a file or has its report, results or workspace rewritten.

It trains for real (tiny data and models) through the product's worker and
drives the app in headless Chromium (``scripts/test.sh`` installs it), so it
takes a few minutes; it needs the shared datasets in ``../shared/datasets``."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.config import FULL, QUICK
from benchmarks.datasets import DATASETS as SHARED_DATASETS

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"

DATASET_KEYS = tuple(QUICK.quality_caps)  # --quick runs two of the five (an ordinal one, one with a split column)
SIZES = tuple(QUICK.scaling_sizes)
RECIPES = ("baseline", "class_weight(scheme=balanced)", "class_weight(scheme=effective)", "focal", "logit_adjusted",
           "random_oversample", "augment", "threshold", "ref:majority", "ref:stratified", "ref:tfidf_lr")
QUALITY_METRICS = ("macro_f1", "balanced_accuracy", "minority_recall", "worst_class_recall")
THROUGHPUT = ("naive_samples_per_s", "lab_samples_per_s", "ratio", "naive_macro_f1", "lab_macro_f1",
              "lab_warm_samples_per_s", "warm_ratio", "bare_step_samples_per_s", "bare_step_samples_per_s_sum",
              "fit_efficiency", "fraction_of_peak", "lab_wall_s", "lab_warm_wall_s")
THROUGHPUT_FLAGS = ("target_met", "warm_target_met", "fit_efficiency_target_met", "fraction_of_peak_target_met")
PROFILE_PARTS = ("startup", "import_tensorflow", "import_product", "split", "encoder", "model_build", "first_epoch",
                 "later_epochs", "validation", "fit_other", "predict", "evaluate", "save", "other")

NUMBERS = (
    [f"throughput.{k}" for k in THROUGHPUT] + [f"throughput.sms.{k}" for k in THROUGHPUT]
    + [f"fit_profile.{p}_{k}" for p in PROFILE_PARTS for k in ("s", "share")] + ["fit_profile.total_s"]
    + ["throughput.fraction_of_peak", "throughput.peak_gflops", "experiment.wall_s", "experiment.runs",
       "experiment.wall_s_defaults", "experiment.estimate_ratio", "experiment.estimate_ratio_small",
       "ui.p50_ms_while_training", "ui.p95_ms_while_training", "data.profile_100k_s", "memory.worker_peak_rss_mb",
       "memory.app_rss_mb", "scaling.slots_speedup", "scaling.local_wall_s", "scaling.ray_wall_s",
       "scaling.ray_overhead_s_per_run", "ui.p95_ms_idle", "ui.page_switch.p95_ms",
       "ui.idle.page_switch.p95_ms", "quality.lstm_wins_with_extras"]
    + [f"scaling.size.{size}.{k}" for size in SIZES for k in ("wall_s", "samples_per_s")]
    + [f"scaling.slots.{slots}.{k}" for slots in ("1", "2") for k in ("wall_s", "samples_per_s")]
    + [f"scaling.runs_per_hour.{nodes}" for nodes in ("1", "4", "16")]
    + [f"quality.{d}.{r}.{m}_mean" for d in DATASET_KEYS for r in RECIPES + ("pool(mode=last)",) for m in QUALITY_METRICS]
)
PRESENT = (  # may be null: std over a single --quick seed, a recipe no dataset favours
    [f"quality.{d}.{r}.{m}_std" for d in DATASET_KEYS for r in RECIPES for m in QUALITY_METRICS]
    + [f"quality.{d}.{k}" for d in DATASET_KEYS for k in ("best_recipe", "best_beats_tfidf")]
)


def flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


OUTPUTS = ("BENCHMARKS.md", "benchmarks/results.json", "benchmarks/throughput.html", "benchmarks/quality.html",
           "benchmarks/workspace/lab.sqlite")  # what the benchmark writes when --out is the repository


def repo_state() -> tuple[frozenset[str], dict[str, str | None]]:
    """Every path git sees (tracked, or untracked and not ignored), and the
    content hash of each file the benchmark would write into the repository.
    Paths, not contents, are compared for the rest: other work may edit
    tracked files while this test runs, but nothing should appear."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    hashes = {p: hashlib.sha1((ROOT / p).read_bytes()).hexdigest() if (ROOT / p).is_file() else None for p in OUTPUTS}
    return frozenset(p for p in listed if p), hashes


@pytest.mark.skipif(not DATASETS.is_dir(), reason="the benchmark reads ../shared/datasets, which a user's clone does not have")
@pytest.mark.timeout(1800)
def test_quick_benchmark_writes_every_key_and_leaves_the_repo_alone(tmp_path):
    assert DATASETS.is_dir(), f"the benchmark needs the shared datasets at {DATASETS}"
    paths_before, outputs_before = repo_state()
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)], cwd=ROOT, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=1700)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-6000:]}"

    results = json.loads((out / "benchmarks" / "results.json").read_text())
    flat = flatten(results)
    missing = [k for k in NUMBERS + PRESENT if k not in flat]
    assert not missing, f"{len(missing)} keys missing, e.g. {missing[:10]}"
    not_numbers = [k for k in NUMBERS if not isinstance(flat[k], (int, float)) or isinstance(flat[k], bool)]
    assert not not_numbers, {k: flat[k] for k in not_numbers[:10]}
    assert flat["experiment.runs"] >= 1 and flat["ui.runs_training_min"] == 2
    assert flat["scaling.executor_runs"] == flat["experiment.runs"]  # the same experiment through both executors
    assert flat["scaling.ray_wall_s"] > 0 and flat["scaling.local_wall_s"] > 0
    assert all(flat[f"quality.{d}.best_recipe"] in RECIPES[:8] for d in DATASET_KEYS), \
        {d: flat[f"quality.{d}.failed_runs"] for d in DATASET_KEYS}
    for prefix in ("throughput.", "throughput.sms."):
        t = {k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix)}
        assert all(isinstance(t[k], bool) for k in THROUGHPUT_FLAGS), {k: t.get(k) for k in THROUGHPUT_FLAGS}
        assert t["warm_ratio"] >= t["ratio"] > 0 and t["lab_warm_wall_s"] <= t["lab_wall_s"], t
        assert t["fit_efficiency"] > 0 and t["bare_step_samples_per_s"] > 0 and t["fraction_of_peak"] > 0, t
        assert t["bare_step_samples_per_s_sum"] >= t["bare_step_samples_per_s"], t
    parts = {p: flat[f"fit_profile.{p}_s"] for p in PROFILE_PARTS}
    assert all(v >= -0.01 for v in parts.values()), parts  # residual parts may round a hair below zero
    assert abs(sum(flat[f"fit_profile.{p}_share"] for p in PROFILE_PARTS) - 1.0) < 1e-6
    assert abs(sum(parts.values()) - flat["fit_profile.total_s"]) < 1e-6
    assert parts["import_tensorflow"] > 0 and parts["first_epoch"] > 0 and flat["fit_profile.epochs_run"] >= 1
    sections = results["meta"]["sections"]
    assert set(sections) == {"throughput", "fit_profile", "experiment", "ui", "memory", "quality", "scaling",
                             "protocol"}
    protocol = results["protocol"]
    assert set(protocol["candidates"]) == {"current", "long_plateau"} and protocol["chosen"] in protocol["candidates"]
    for key in QUICK.protocol_datasets:  # validation scores only: the protocol never reads test rows
        for name in ("current", "long_plateau"):
            assert 0 <= protocol[key][name]["val_macro_f1_mean"] <= 1 and protocol[key][name]["seeds"] == 1
    assert all(s["quick"] and "error" not in s for s in sections.values()), sections

    report = (out / "BENCHMARKS.md").read_text()
    for heading in ("## Machine and versions", "## 1. Throughput", "## 2. Fraction of peak", "## 3. A full experiment",
                    "## 4. Pages while training", "## 5. Memory", "## 6. Quality", "## 7. Scaling",
                    "## 8. Fit profile", "## 9. Training defaults", "### Training speed (issue 15)",
                    "### Executors: local and Ray (issue 19)"):
        assert heading in report
    assert "Not run yet" not in report and "--quick" in report
    for figure in ("throughput.html", "quality.html"):
        assert (out / "benchmarks" / figure).stat().st_size > 100_000  # plotly.js inlined: self-contained

    paths_after, outputs_after = repo_state()
    assert outputs_after == outputs_before, "the benchmark wrote its outputs into the repository"
    # New source files are other work landing meanwhile (the benchmark writes data, reports and logs, never code).
    new = sorted(p for p in paths_after - paths_before if not p.endswith(".py"))
    assert not new, f"new files in the repository: {new[:10]}"


def test_the_full_run_covers_what_quick_leaves_out():
    """--quick keeps the test suite short with two quality datasets and one scaling size; the real run keeps
    every shared dataset and every size (what BENCHMARKS.md reports)."""
    assert set(FULL.quality_caps) == set(SHARED_DATASETS) and set(QUICK.quality_caps) < set(FULL.quality_caps)
    assert tuple(FULL.scaling_sizes) == ("1k", "5k", "20k") and set(QUICK.scaling_sizes) <= set(FULL.scaling_sizes)
    quick = [SHARED_DATASETS[k].choice for k in QUICK.quality_caps]
    assert any(c.ordinal_order for c in quick) and any(c.split for c in quick)  # both code paths run in --quick


def test_fixed_benchmark_settings_are_spelled_out_and_agree():
    """The timing sections train at fixed settings: every field of ``TrainSettings``
    written out, the same in ``benchmarks.config`` and in the fit profile (which
    must run against older checkouts, so it cannot import them)."""
    from benchmarks import fit_profile
    from benchmarks.config import BENCHMARK_SETTINGS
    from core.settings import TrainSettings

    assert set(fit_profile.BENCHMARK_SETTINGS) == set(TrainSettings.__dataclass_fields__), \
        "a new training setting: pin its value in BENCHMARK_SETTINGS (config.py and fit_profile.py)"
    assert fit_profile.BENCHMARK_SETTINGS == BENCHMARK_SETTINGS.to_json()
    assert FULL.settings == BENCHMARK_SETTINGS and FULL.quality_settings == TrainSettings()
