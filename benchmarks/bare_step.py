"""``python -m benchmarks.bare_step JOB.json OUT.json --index I``: the *bare
step* of docs/architecture.md ("Throughput"), one process of several side by
side — the ceiling the lab's fit is measured against (``fit_efficiency``).

The lab's own model, ``core.keras.models.build_model(ModelSpec.from_settings(settings),
vocab_size, Head("softmax", n_classes))`` (fused LSTM or not: whatever the
product builds), trained compile-free: a ``tf.function`` step around
``GradientTape`` with the product's optimizer (``Adam(learning_rate,
clipnorm=1.0)``) and loss (``SparseCategoricalCrossentropy(from_logits=True)``,
sample weights of ones), on the lab's own padded batches: the seed's training
rows of the product's split (``core.data.split.make_split``), encoded by
``core.keras.text.fit_encoder`` / ``Encoder.encode``, grouped by
``core.keras.text.length_batches`` and padded by ``core.keras.text.pad`` (to
the bucket length of each batch's longest row) —
every epoch's batches built and converted to tensors before the clock starts,
so no data pipeline, callback, validation or Python bookkeeping is timed.
One TensorFlow thread; no op determinism (the product's determinism is one of
the costs the fit efficiency shows).

Process ``I`` trains seed ``I``. Per dataset: one warm-up epoch (tracing),
then the processes wait for each other (files in the job's barrier folder),
time ``epochs`` epochs, and keep stepping untimed until every process has
finished its timed epochs, so each one is timed while all of them run.

JOB.json: {"workspace", "jobs": [{"name", "dataset_id"}], "test_share",
"validation_share", "settings", "epochs", "processes", "barrier"}; OUT.json:
{name: {"samples_per_s", "seconds", "train_rows", ...}}."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BARRIER_TIMEOUT_S = 900.0


def _wait_for(folder: Path, prefix: str, n: int, step=None) -> bool:
    """Until ``n`` files named ``prefix*`` exist in ``folder`` (``step()`` between
    looks, else a short sleep); False if that took longer than the timeout."""
    deadline = time.monotonic() + BARRIER_TIMEOUT_S
    while sum(1 for p in folder.iterdir() if p.name.startswith(prefix)) < n:
        if time.monotonic() > deadline:
            return False
        if step is None:
            time.sleep(0.01)
        else:
            step()
    return True


def _pad(seqs, rows, max_len: int):
    """``core.keras.text.pad``: rows post-padded to the bucket length of the longest (for code without it)."""
    import numpy as np

    from core.keras import text

    width = text.bucket_length(max(len(seqs[r]) for r in rows), max_len)
    out = np.zeros((len(rows), width), dtype=np.int32)
    for i, r in enumerate(rows):
        out[i, : len(seqs[r])] = seqs[r]
    return out


def epoch_batches(seqs, y, *, batch_size: int, max_len: int, rng) -> list[tuple]:
    """One epoch of the lab's batches as tensors: (ids, labels, weights of ones)."""
    import numpy as np
    import tensorflow as tf

    from core.keras import text

    pad = getattr(text, "pad", _pad)
    lengths = np.array([len(s) for s in seqs])
    out = []
    for rows in text.length_batches(lengths, batch_size, rng):
        ids = pad(seqs, rows, max_len)
        out.append((tf.constant(ids), tf.constant(y[rows], dtype=tf.int32), tf.ones((len(rows),), tf.float32)))
    return out


def measure(data, split, settings, *, seed: int, epochs: int, barrier: Path, name: str, index: int,
            processes: int) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from core.keras.models import build_model
    from core.keras.text import fit_encoder
    from core.runs.heads import Head
    from core.runs.types import ModelSpec

    keras.utils.set_random_seed(seed)
    texts = [data.texts[r] for r in split.train]
    y = np.asarray(data.y[split.train])
    encoder = fit_encoder(texts, vocab_size=settings.vocab_size, max_len=settings.max_len)
    seqs = encoder.encode(texts)
    rng = np.random.default_rng(seed * 1000)  # the lab's batch order for this seed (train.fit's seed)
    # warm-up + timed epochs + one spare epoch to keep stepping while the others finish
    epochs_batches = [epoch_batches(seqs, y, batch_size=settings.batch_size, max_len=encoder.max_len, rng=rng)
                      for _ in range(epochs + 2)]
    model = build_model(ModelSpec.from_settings(settings), len(encoder.vocabulary), Head("softmax", data.n_classes))
    optimizer = keras.optimizers.Adam(settings.learning_rate, clipnorm=1.0)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(input_signature=[tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None,), tf.int32),
                                  tf.TensorSpec((None,), tf.float32)])  # one trace for every bucket width
    def train_step(ids, labels, weights):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(ids, training=True), sample_weight=weights)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    def run_epoch(batches) -> float:
        loss = None
        for ids, labels, weights in batches:
            loss = train_step(ids, labels, weights)
        return float(loss)

    started = time.perf_counter()
    run_epoch(epochs_batches[0])
    warmup_s = time.perf_counter() - started
    (barrier / f"ready-{name}-{index}").touch()
    together = _wait_for(barrier, f"ready-{name}-", processes)
    started = time.perf_counter()
    losses = [run_epoch(batches) for batches in epochs_batches[1:epochs + 1]]
    seconds = time.perf_counter() - started
    (barrier / f"done-{name}-{index}").touch()
    spare = itertools.cycle(epochs_batches[-1])
    _wait_for(barrier, f"done-{name}-", processes, step=lambda: train_step(*next(spare)))

    real = sum(min(len(s), encoder.max_len) for s in seqs)
    padded = sum(int(ids.shape[0]) * int(ids.shape[1]) for ids, _, _ in epochs_batches[1])
    samples = len(texts) * epochs
    return {"samples_per_s": samples / seconds, "seconds": seconds, "epochs": epochs, "train_rows": len(texts),
            "trained_samples": samples, "warmup_epoch_s": warmup_s, "seed": seed, "index": index,
            "batches_per_epoch": len(epochs_batches[1]), "max_len": encoder.max_len,
            "vocabulary": len(encoder.vocabulary), "padded_per_real_token": padded / max(1, real),
            "traces": int(train_step.experimental_get_tracing_count()), "last_loss": losses[-1] if losses else None,
            "waited_for_all": together}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_step")
    parser.add_argument("job")
    parser.add_argument("out")
    parser.add_argument("--index", type=int, default=0, help="this process's number; it trains seed INDEX")
    args = parser.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)  # before the first op: one thread, as a lab slot
    tf.config.threading.set_inter_op_parallelism_threads(1)

    from core.data.split import SplitSpec, make_split
    from core.jobs.store import Store
    from core.settings import TrainSettings

    job = json.loads(Path(args.job).read_text())
    store = Store(job["workspace"])
    settings = TrainSettings.from_json(job["settings"])
    barrier = Path(job["barrier"])
    results: dict[str, dict] = {}
    for item in job["jobs"]:
        data = store.load_dataset(item["dataset_id"])
        split = make_split(data, SplitSpec(seed=args.index, test_share=job["test_share"],
                                           validation_share=job["validation_share"]))
        results[item["name"]] = measure(data, split, settings, seed=args.index, epochs=job["epochs"], barrier=barrier,
                                        name=item["name"], index=args.index, processes=job["processes"])
        print(item["name"], json.dumps(results[item["name"]]), flush=True)
    Path(args.out).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
