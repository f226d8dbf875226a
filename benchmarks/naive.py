"""``python -m benchmarks.naive JOB.json OUT.json``: the *naive* pipeline a
tutorial writes — the deliberate exception to "use core".

``TextVectorization`` padded to one fixed length (95th percentile of training
token lengths, capped at 200), ``Embedding(mask_zero=True) → LSTM →
Dense(softmax)``, Adam with its defaults, ``model.fit`` with TensorFlow's
default threading, batch 64, a fixed number of epochs and no early stopping.
It trains on the same training rows as the product's split for each seed
(``core.data.split.make_split``) and is scored on the same test rows with the
product's metrics (``core.runs.evaluate``), seeds one after the other.

It also measures the token statistics the FLOP count needs: real (unpadded)
tokens per training text for both pipelines, and how many padded positions
each pipeline computes per real token (the product's length buckets are
replayed with ``core.keras.text``)."""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def _lengths(texts: list[str], vocab_size: int) -> np.ndarray:
    from keras.layers import TextVectorization

    layer = TextVectorization(max_tokens=vocab_size, output_mode="int", ragged=True)
    layer.adapt(np.asarray(texts, dtype=object))
    return np.array([int(row.shape[0]) for row in layer(np.asarray(texts, dtype=object))])


def lab_padding(lengths: np.ndarray, max_len: int, batch_size: int, seed: int) -> float:
    """Padded positions the product's length-grouped batches compute per real token (one epoch)."""
    from core.keras import text

    real = np.minimum(lengths, max_len)
    batches = text.length_batches(real, batch_size, np.random.default_rng(seed))
    padded = sum(len(b) * text.bucket_length(int(real[b].max()), max_len) for b in batches)
    return float(padded / max(1, real.sum()))


def train_one(data, split, settings: dict, *, seed: int, batch_size: int, length_cap: int) -> dict:
    import keras
    from keras import layers

    from core.keras.text import fit_encoder
    from core.runs.evaluate import evaluate

    started = time.perf_counter()
    keras.utils.set_random_seed(seed)
    train_texts = [data.texts[r] for r in split.train]
    test_texts = [data.texts[r] for r in split.test]
    lengths = _lengths(train_texts, settings["vocab_size"])
    fixed_len = int(min(length_cap, max(1, np.ceil(np.percentile(lengths, 95)))))
    vectorize = layers.TextVectorization(max_tokens=settings["vocab_size"], output_mode="int",
                                         output_sequence_length=fixed_len)
    vectorize.adapt(np.asarray(train_texts, dtype=object))
    x_train = vectorize(np.asarray(train_texts, dtype=object))
    x_test = vectorize(np.asarray(test_texts, dtype=object))
    y_train = data.y[split.train]
    model = keras.Sequential([
        keras.Input(shape=(fixed_len,), dtype="int64"),
        layers.Embedding(len(vectorize.get_vocabulary()), settings["embedding_dim"], mask_zero=True),
        layers.LSTM(settings["units"]),
        layers.Dense(data.n_classes, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    fit_started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=settings["epochs"], verbose=0)
    fit_seconds = time.perf_counter() - fit_started
    proba = model.predict(x_test, batch_size=256, verbose=0)
    counts = np.bincount(y_train, minlength=data.n_classes)
    evaluation = evaluate(data.y[split.test], proba, proba.argmax(axis=1), data.classes, train_counts=counts,
                          ordinal=data.ordinal)
    lab_max_len = fit_encoder(train_texts, vocab_size=settings["vocab_size"], max_len=settings.get("max_len")).max_len
    return {
        "seed": seed, "train_rows": len(split.train), "test_rows": len(split.test), "epochs": settings["epochs"],
        "trained_samples": len(split.train) * settings["epochs"], "fit_seconds": fit_seconds,
        "total_seconds": time.perf_counter() - started, "fixed_len": fixed_len,
        "macro_f1": evaluation.overall["macro_f1"], "balanced_accuracy": evaluation.overall["balanced_accuracy"],
        "mean_tokens": float(lengths.mean()),
        "naive_real_tokens": float(np.minimum(lengths, fixed_len).mean()),
        "naive_padding": float(fixed_len / max(1e-9, np.minimum(lengths, fixed_len).mean())),
        "lab_max_len": int(lab_max_len),
        "lab_real_tokens": float(np.minimum(lengths, lab_max_len).mean()),
        "lab_padding": lab_padding(lengths, lab_max_len, settings["batch_size"], seed),
    }


def main(argv: list[str] | None = None) -> int:
    """JOB.json: {"workspace", "jobs": [{"name", "dataset_id"}], "seeds", "test_share", "validation_share",
    "settings", "batch_size", "length_cap"}; OUT.json: {name: [one result per seed]}."""
    from core.data.split import SplitSpec, make_split
    from core.jobs.store import Store

    job_path, out_path = (argv if argv is not None else sys.argv[1:])[:2]
    job = json.loads(open(job_path).read())
    store = Store(job["workspace"])
    results: dict[str, list[dict]] = {}
    for item in job["jobs"]:
        data = store.load_dataset(item["dataset_id"])
        for seed in job["seeds"]:
            split = make_split(data, SplitSpec(seed=seed, test_share=job["test_share"],
                                               validation_share=job["validation_share"]))
            results.setdefault(item["name"], []).append(
                train_one(data, split, job["settings"], seed=seed, batch_size=job["batch_size"],
                          length_cap=job["length_cap"]))
            print(item["name"], json.dumps(results[item["name"]][-1]), flush=True)
    with open(out_path, "w") as fh:
        json.dump(results, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
