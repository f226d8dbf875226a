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

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"

DATASET_KEYS = ("sms_spam", "clothing_stars", "vader_tweets", "banking77", "reuters_r8")
RECIPES = ("baseline", "class_weight(scheme=balanced)", "class_weight(scheme=effective)", "focal", "logit_adjusted",
           "random_oversample", "augment", "threshold", "ref:majority", "ref:stratified", "ref:tfidf_lr")
QUALITY_METRICS = ("macro_f1", "balanced_accuracy", "minority_recall", "worst_class_recall")
THROUGHPUT = ("naive_samples_per_s", "lab_samples_per_s", "ratio", "naive_macro_f1", "lab_macro_f1")

NUMBERS = (
    [f"throughput.{k}" for k in THROUGHPUT] + [f"throughput.sms.{k}" for k in THROUGHPUT]
    + ["throughput.fraction_of_peak", "throughput.peak_gflops", "experiment.wall_s", "experiment.runs",
       "ui.p50_ms_while_training", "ui.p95_ms_while_training", "data.profile_100k_s", "memory.worker_peak_rss_mb",
       "memory.app_rss_mb", "scaling.slots_speedup", "ui.p95_ms_idle", "ui.page_switch.p95_ms",
       "ui.idle.page_switch.p95_ms", "quality.lstm_wins_with_extras"]
    + [f"scaling.size.{size}.{k}" for size in ("1k", "5k", "20k") for k in ("wall_s", "samples_per_s")]
    + [f"scaling.slots.{slots}.{k}" for slots in ("1", "2") for k in ("wall_s", "samples_per_s")]
    + [f"quality.{d}.{r}.{m}_mean" for d in DATASET_KEYS for r in RECIPES + ("pool",) for m in QUALITY_METRICS]
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
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=1700)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-6000:]}"

    results = json.loads((out / "benchmarks" / "results.json").read_text())
    flat = flatten(results)
    missing = [k for k in NUMBERS + PRESENT if k not in flat]
    assert not missing, f"{len(missing)} keys missing, e.g. {missing[:10]}"
    not_numbers = [k for k in NUMBERS if not isinstance(flat[k], (int, float)) or isinstance(flat[k], bool)]
    assert not not_numbers, {k: flat[k] for k in not_numbers[:10]}
    assert flat["experiment.runs"] >= 1 and flat["ui.runs_training_min"] == 2
    assert all(flat[f"quality.{d}.best_recipe"] in RECIPES[:8] for d in DATASET_KEYS), \
        {d: flat[f"quality.{d}.failed_runs"] for d in DATASET_KEYS}
    sections = results["meta"]["sections"]
    assert set(sections) == {"throughput", "experiment", "ui", "memory", "quality", "scaling"}
    assert all(s["quick"] and "error" not in s for s in sections.values()), sections

    report = (out / "BENCHMARKS.md").read_text()
    for heading in ("## Machine and versions", "## 1. Throughput", "## 2. Fraction of peak", "## 3. A full experiment",
                    "## 4. Pages while training", "## 5. Memory", "## 6. Quality", "## 7. Scaling"):
        assert heading in report
    assert "Not run yet" not in report and "--quick" in report
    for figure in ("throughput.html", "quality.html"):
        assert (out / "benchmarks" / figure).stat().st_size > 100_000  # plotly.js inlined: self-contained

    paths_after, outputs_after = repo_state()
    assert outputs_after == outputs_before, "the benchmark wrote its outputs into the repository"
    assert not paths_after - paths_before, f"new files in the repository: {sorted(paths_after - paths_before)[:10]}"
