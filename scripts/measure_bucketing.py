"""Measure the speed-up of length-grouped batches over fixed-length padding.

Trains the product's baseline LSTM for 2 epochs on a stratified sample of a
shared dataset twice in one process — once with every batch padded to the
full sequence length, once with the product's length buckets — and prints
training samples per second of each and their ratio.

    .venv/bin/python scripts/measure_bucketing.py [CSV] [--rows 5000] [--label-col label]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.dataset import LabeledTexts  # noqa: E402
from core.data.split import SplitSpec, make_split  # noqa: E402
from core.keras import text  # noqa: E402
from core.keras.trainer import KerasTrainer
from core.runs.pipeline import run_recipe  # noqa: E402
from core.settings import TrainSettings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("csv", nargs="?", default="../shared/datasets/womens-clothing-reviews/reviews.csv")
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--label-col", default="label")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    frame = pd.read_csv(args.csv).dropna(subset=["text", args.label_col])
    frame = frame.groupby(args.label_col, group_keys=False).sample(frac=min(1.0, args.rows / len(frame)),
                                                                  random_state=0)
    classes = tuple(sorted(frame[args.label_col].astype(str).unique()))
    data = LabeledTexts(tuple(frame["text"].astype(str)),
                        frame[args.label_col].astype(str).map(classes.index).to_numpy(), classes)
    split = make_split(data, SplitSpec(seed=0))
    settings = TrainSettings(epochs=args.epochs, patience=args.epochs)
    results = {}
    original = text.bucket_length
    for mode in ("fixed", "bucketed"):
        text.bucket_length = (lambda longest, max_len: max_len) if mode == "fixed" else original
        started = time.perf_counter()
        out = run_recipe(data, split, [], settings, seed=0, trainer=KerasTrainer())
        results[mode] = out.trained_samples / out.fit_seconds
        print(f"{mode:9s} {results[mode]:7.0f} samples/s  (fit {out.fit_seconds:.1f} s, max_len "
              f"{out.encoder.max_len}, total {time.perf_counter() - started:.1f} s)", flush=True)
    text.bucket_length = original
    print(f"speed-up of length buckets: {results['bucketed'] / results['fixed']:.2f}x "
          f"({len(split.train)} training rows, batch {settings.batch_size}, {args.epochs} epochs)")


if __name__ == "__main__":
    main()
