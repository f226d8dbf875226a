"""Measure the constants of ``core/jobs/estimate.py`` from a workspace's finished runs.

    .venv/bin/python scripts/calibrate_estimate.py benchmarks/workspace

For every finished LSTM run trained (not reused) in the workspace: its fit
seconds per training row and epoch, fitted by least squares as
``us_per_row + us_per_word × words × size`` (words read per row after the cut,
size = the LSTM's width relative to 64 units and a 64-wide embedding); the rest
of the run's wall time (start, predictions, writing) against the dataset's
words; the epochs early stopping let it train; and the TF-IDF reference's
seconds per training word. Prints what it finds, medians per dataset beside
the fit, so a reader can see how well one formula covers them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.jobs.estimate import REFERENCE_EMBEDDING, REFERENCE_UNITS  # noqa: E402
from core.jobs.store import Store  # noqa: E402
from core.runs.lengths import auto_max_len, word_counts  # noqa: E402
from core.settings import TrainSettings  # noqa: E402


def runs(store: Store) -> pd.DataFrame:
    rows, words = [], {}
    for experiment in store.experiments(include_archived=True):
        dataset_id = experiment["dataset_id"]
        if dataset_id not in words:
            words[dataset_id] = word_counts(store.load_dataset(dataset_id).texts)
        counts = words[dataset_id]
        settings = TrainSettings.from_json(experiment["spec"]["settings"])
        for run in store.runs(experiment=experiment["id"]):
            if run.status.value != "finished" or run.reused_from or not run.result_dir:
                continue
            result = json.loads((store.root / run.result_dir / "result.json").read_text())
            wall = run.finished - run.started
            if result.get("model_from_run"):  # decided on another run's model: no fit to learn costs from
                continue
            if result.get("kind") != "lstm":
                rows.append({"kind": run.recipe, "dataset": dataset_id, "wall": wall,
                             "train_words": result["split"]["train"] * float(counts.mean())})
                continue
            max_len = settings.max_len or auto_max_len(counts, settings.max_len_cap)
            read = float(np.minimum(counts, max_len).mean())
            size = settings.units * (settings.embedding_dim + settings.units) / (
                REFERENCE_UNITS * (REFERENCE_EMBEDDING + REFERENCE_UNITS))
            rows.append({"kind": "lstm", "recipe": run.recipe, "dataset": dataset_id, "wall": wall,
                         "fit": result["fit_seconds"], "row_epochs": result["trained_samples"],
                         "epochs": result["trained_samples"] / max(1, result["train_size"]),
                         "max_epochs": settings.epochs, "patience": settings.patience,
                         "sized_words": read * size, "dataset_words": len(counts) * read})
    return pd.DataFrame(rows)


def plain(recipe: str) -> bool:
    """A recipe that trains the baseline's model on the baseline's rows (loss, weights and decision aside):
    what the per-row and per-word costs are measured on (the others add their registry ``cost``)."""
    from core.strategies.registry import build

    probe = np.array([50, 20, 5])
    return all(s.cost == 1.0 and np.array_equal(s.class_sizes(probe), probe) for s in build(recipe))


def main(workspace: str) -> None:
    df = runs(Store(workspace))
    lstm = df[df.kind == "lstm"].copy()
    lstm = lstm[[plain(r) for r in lstm.recipe]]
    lstm["us_per_row_epoch"] = lstm.fit / lstm.row_epochs * 1e6
    lstm["rest"] = lstm.wall - lstm.fit
    # Medians per dataset, then one line through them: each dataset counts once, however many runs it has.
    by = lstm.groupby("dataset").agg(runs=("wall", "size"), words=("sized_words", "first"),
                                     dataset_words=("dataset_words", "first"),
                                     us_measured=("us_per_row_epoch", "median"), rest=("rest", "median"))
    (us_row, us_word), *_ = np.linalg.lstsq(np.column_stack([np.ones(len(by)), by.words]), by.us_measured,
                                            rcond=None)
    print(f"{len(lstm)} runs of plain recipes: fit µs per row and epoch ≈ {us_row:.1f} + {us_word:.2f} × words "
          "× size")
    (start, us_predicted), *_ = np.linalg.lstsq(np.column_stack([np.ones(len(by)), by.dataset_words]), by.rest,
                                                rcond=None)
    print(f"rest of a run ≈ {start:.2f} s + {us_predicted * 1e6:.2f} µs × words in the dataset")
    by["us_fitted"] = us_row + us_word * by.words
    print(by.round(2).to_string())
    stops = lstm.groupby(["max_epochs", "patience"]).epochs.describe()[["count", "mean", "min", "50%", "max"]]
    print("epochs trained (early stopping):\n" + stops.round(1).to_string())
    tfidf = df[df.kind == "ref:tfidf_lr"].assign(us=lambda t: t.wall / t.train_words * 1e6)
    if len(tfidf):
        print(f"TF-IDF + LR µs per training word: median {tfidf.us.median():.1f} over {len(tfidf)} runs; per dataset "
              + ", ".join(f"{v:.1f}" for v in tfidf.groupby("dataset").us.median()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/workspace")
