"""Section ``fit_profile``: where the time of one ``baseline`` run goes, on the
benchmark's clothing sample (10,000 rows, stratified, seed 0) at the fixed
benchmark settings, seed 0, one TensorFlow thread (one lab slot's share).

One fresh child process runs the product's own pieces —
``core.data.split.make_split`` and ``core.runs.pipeline.run_recipe(data, split,
build("baseline"), settings, seed, trainer=KerasTrainer())``, then
``core.runs.evaluate.evaluate`` and ``fitted.model.save`` — with thin timers
around them: the trainer's methods (``fit_text_encoder``, ``fit``,
``outputs``) are wrapped, ``Encoder.encode`` and the model build
(``core.keras.train.new_model``) are timed wherever they are called, and the
per-epoch times come from the fit's history entries (``train_s``, ``val_s``);
with code whose history has none, from timers around its Keras callback
(``core.keras.train._Monitor``). Nothing new is needed from ``core``, so the
same profile runs against an older checkout. Parts (``fit_profile.<part>_s``
and ``fit_profile.<part>_share``, shares of their sum ``fit_profile.total_s``):

* ``startup``: from just before the child is started to its first statement
  (interpreter start-up); ``import_tensorflow``: ``import tensorflow, keras``;
  ``import_product``: the product modules a run needs.
* ``split``; ``encoder``: fitting the encoder and every ``Encoder.encode``
  call (training, validation and test rows); ``model_build``.
* ``first_epoch``: the first epoch's training (tracing included);
  ``later_epochs``: the other epochs' training; ``validation``: the
  per-epoch validation passes; ``fit_other``: the rest of the fit (batches and
  padding set up once, optimizer set-up, early stopping, restoring the best
  weights).
* ``predict``: the model's outputs on validation (decision rule) and test
  rows after the fit; ``evaluate``: the metrics; ``save``: ``model.keras``;
  ``other``: the pipeline's own work around the trainer (resampling, weights,
  the decision rule).

Loading the shared CSV and drawing the sample are not a part (a run gets its
data from the store); they are reported as ``data_load_s``.

The benchmark runs it with ``python -m benchmarks --sections fit_profile``.
By itself (prints the table; ``--out`` writes the JSON)::

    python -m benchmarks.fit_profile [--out FILE] [--rows 10000] [--datasets ../shared/datasets] [--quick]

Against another checkout's ``core`` ("before" numbers), run this file by its
path with that checkout first on ``PYTHONPATH`` (``benchmarks.datasets`` is
then also that checkout's, which any checkout since the benchmark exists has)::

    cd /work/qtree && PYTHONPATH=/work/qtree PYTHONDONTWRITEBYTECODE=1 /work/main/.venv/bin/python \\
        /work/main/benchmarks/fit_profile.py --out /tmp/fit-profile-before.json

(``PYTHONDONTWRITEBYTECODE=1`` leaves that checkout without new ``__pycache__``
folders.) A checkout that has this file can equally run ``python -m
benchmarks.fit_profile`` from its root.

``core_path`` and ``core_commit`` in the output say which code was profiled."""

from __future__ import annotations

import time

_FIRST_STATEMENT = time.time()  # the child's first statement: start-up ends here

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run by its path: the folder it is in must not shadow modules
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATASET = "clothing_stars"
ROWS = 10_000
# benchmarks.config.BENCHMARK_SETTINGS, spelled out so that this file runs against checkouts without it
# (tests/test_benchmarks.py checks they are equal).
BENCHMARK_SETTINGS = {"epochs": 10, "batch_size": 128, "patience": 2, "vocab_size": 20_000, "max_len": None,
                      "embedding_dim": 64, "units": 64, "learning_rate": 3e-3, "dropout": 0.2,
                      "lr_schedule": "constant", "max_len_cap": 256, "pooling": "last"}
QUICK_SETTINGS = {"epochs": 1, "batch_size": 64, "patience": 1, "vocab_size": 2000, "max_len": 48,
                  "embedding_dim": 16, "units": 16, "lr_schedule": "constant", "pooling": "last"}  # benchmarks.config.TINY
PARTS = ("startup", "import_tensorflow", "import_product", "split", "encoder", "model_build", "first_epoch",
         "later_epochs", "validation", "fit_other", "predict", "evaluate", "save", "other")


# ------------------------------------------------------------------ the parent: start a fresh child, read its result


def _self_command() -> list[str]:
    """How to start this module again: as ``-m benchmarks.fit_profile`` when imported as
    part of the package, else by its path (another checkout's ``core`` on PYTHONPATH)."""
    return ["-m", "benchmarks.fit_profile"] if __package__ else [os.path.abspath(__file__)]


def profile(*, datasets: Path, rows: int, settings: dict, seed: int = 0, threads: int = 1,
            env: dict[str, str] | None = None, cwd: Path | None = None, log: Path | None = None,
            timeout_s: float = 3600) -> dict:
    """Profile one run in a fresh child process; its parts and details as a dict."""
    with tempfile.TemporaryDirectory(prefix="fit-profile-") as tmp:
        out = Path(tmp) / "profile.json"
        args = [sys.executable, *_self_command(), "--child", "--out", str(out), "--datasets", str(datasets),
                "--rows", str(rows), "--settings", json.dumps(settings), "--seed", str(seed), "--threads",
                str(threads), "--scratch", tmp]
        with open(log, "wb") if log else nullcontext() as sink:  # no log: the child's output goes to ours
            spawned = time.time()
            proc = subprocess.run([*args, "--spawned-at", repr(spawned)], cwd=cwd, env=env, stdout=sink,
                                  stderr=subprocess.STDOUT if log else None, timeout=timeout_s, check=False)
        if proc.returncode != 0 or not out.exists():
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"the fit profile's child exited with code {proc.returncode}:\n{tail}")
        return json.loads(out.read_text())


def run(ctx) -> dict:
    """The benchmark section: the profile at the benchmark's settings on its clothing sample."""
    from benchmarks.processes import REPO_ROOT, child_env

    cfg = ctx.config
    ctx.log(f"fit_profile: one baseline run on {cfg.throughput_rows:,} clothing rows, timed part by part")
    result = profile(datasets=ctx.datasets, rows=cfg.throughput_rows, settings=cfg.settings.to_json(),
                     env=child_env(), cwd=REPO_ROOT, log=ctx.logs("fit_profile") / "fit_profile.log",
                     timeout_s=cfg.worker_timeout_s)
    ctx.log("fit_profile: " + ", ".join(f"{p} {result[f'{p}_s']:.1f} s" for p in PARTS if result.get(f"{p}_s")))
    return {"fit_profile": result}


# ------------------------------------------------------------------ the child: one run, timed


class Clock:
    """Wall time per phase (nested phases count in their own and their parents'
    totals) and time spent in ``Encoder.encode`` by the phase it was called in."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.encode: dict[str | None, float] = defaultdict(float)
        self.phase: str | None = None
        self.epochs: list[dict] = []  # from the Keras-callback timers (older code only)

    @contextmanager
    def timed(self, phase: str):
        outer, self.phase = self.phase, phase
        started = time.perf_counter()
        try:
            yield
        finally:
            self.wall[phase] += time.perf_counter() - started
            self.phase = outer


class TimedTrainer:
    """The product's trainer with a timer around each method the pipeline calls."""

    def __init__(self, inner, clock: Clock) -> None:
        self._inner, self._clock = inner, clock

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def fit_text_encoder(self, ctx, train_rows):
        with self._clock.timed("encoder_fit"):
            return self._inner.fit_text_encoder(ctx, train_rows)

    def fit(self, ctx, train_set, **kwargs):
        with self._clock.timed("fit"):
            return self._inner.fit(ctx, train_set, **kwargs)

    def outputs(self, ctx, model, rows):
        with self._clock.timed("predict"):
            return self._inner.outputs(ctx, model, rows)


def install_timers(clock: Clock) -> None:
    """Timers around ``Encoder.encode``, the model build, and (older code) the fit's Keras callback."""
    from core.keras import text, train

    encode = text.Encoder.encode

    def timed_encode(self, texts):
        started = time.perf_counter()
        try:
            return encode(self, texts)
        finally:
            clock.encode[clock.phase] += time.perf_counter() - started

    text.Encoder.encode = timed_encode
    name = "new_model" if hasattr(train, "new_model") else "build_model"
    build = getattr(train, name)

    def timed_build(*args, **kwargs):
        with clock.timed("model_build"):
            return build(*args, **kwargs)

    setattr(train, name, timed_build)
    monitor = getattr(train, "_Monitor", None)
    if monitor is not None and hasattr(monitor, "on_epoch_begin") and hasattr(monitor, "on_epoch_end"):
        begin, end = monitor.on_epoch_begin, monitor.on_epoch_end

        def on_epoch_begin(self, epoch, logs=None):
            clock.epochs.append({"started": time.perf_counter()})
            clock.phase = "train"
            return begin(self, epoch, logs)

        def on_epoch_end(self, epoch, logs=None):
            entry = clock.epochs[-1]
            entry["train_s"] = time.perf_counter() - entry["started"]
            clock.phase = "validation"
            started = time.perf_counter()
            try:
                return end(self, epoch, logs)
            finally:
                entry["val_s"] = time.perf_counter() - started
                clock.phase = "fit"

        monitor.on_epoch_begin, monitor.on_epoch_end = on_epoch_begin, on_epoch_end


def _code_info() -> dict:
    import core

    root = Path(core.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=30, check=False).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "core"],
                                    capture_output=True, text=True, timeout=30, check=False).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {"core_path": str(root), "core_commit": commit, "core_modified": dirty}


def child(args: argparse.Namespace) -> dict:
    first = _FIRST_STATEMENT
    started = time.perf_counter()
    import keras
    import tensorflow as tf

    import_tf = time.perf_counter() - started
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)  # before the first op, as a run process
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    started = time.perf_counter()
    import numpy as np

    from core.data.split import SplitSpec, make_split
    from core.keras.trainer import KerasTrainer
    from core.runs.evaluate import evaluate
    from core.runs.pipeline import run_recipe
    from core.settings import TrainSettings
    from core.strategies.registry import build

    import_product = time.perf_counter() - started

    started = time.perf_counter()
    from benchmarks.datasets import load, stratified_sample

    data = stratified_sample(load(DATASET, str(args.datasets)), args.rows)
    data_load = time.perf_counter() - started
    settings = TrainSettings.from_json(json.loads(args.settings))

    clock = Clock()
    install_timers(clock)
    started = time.perf_counter()
    split = make_split(data, SplitSpec(seed=args.seed))
    split_s = time.perf_counter() - started

    started = time.perf_counter()
    out = run_recipe(data, split, build("baseline"), settings, args.seed, trainer=TimedTrainer(KerasTrainer(), clock))
    recipe_s = time.perf_counter() - started

    started = time.perf_counter()
    evaluation = evaluate(out.test.y, out.test.proba, out.y_pred, out.classes,
                          train_counts=np.array(out.split_class_counts),
                          ordinal=data.ordinal and not out.fitted.info.get("unordered", False))
    evaluate_s = time.perf_counter() - started

    started = time.perf_counter()
    out.fitted.model.save(Path(args.scratch) / "model.keras")
    save_s = time.perf_counter() - started
    ended = time.time()

    history = out.fitted.history
    if history and all("train_s" in h and "val_s" in h for h in history):
        source, train_s, val_s = "history", [h["train_s"] for h in history], [h["val_s"] for h in history]
    elif clock.epochs and all("val_s" in e for e in clock.epochs):
        source = "callback timers"
        train_s, val_s = [e["train_s"] for e in clock.epochs], [e["val_s"] for e in clock.epochs]
    else:
        source, train_s, val_s = "none", [], []
    enc = clock.encode
    # Encoding inside an epoch is known only from the callback timers; otherwise it happened before the epochs.
    enc_train, enc_val = enc.get("train", 0.0), enc.get("validation", 0.0)
    enc_fit = enc.get("fit", 0.0) + enc.get("model_build", 0.0)
    first_epoch = (train_s[0] if train_s else 0.0) - enc_train
    later_epochs = sum(train_s[1:])
    validation = sum(val_s) - enc_val
    fit_other = clock.wall["fit"] - clock.wall["model_build"] - sum(train_s) - sum(val_s) - enc_fit
    moved = 0.0
    if fit_other < 0:  # some encoding happened inside the epochs after all: take it from the validation passes
        moved = min(-fit_other, validation)
        validation -= moved
        fit_other += moved
    parts = {
        "startup": first - args.spawned_at if args.spawned_at else 0.0,
        "import_tensorflow": import_tf,
        "import_product": import_product,
        "split": split_s,
        "encoder": clock.wall["encoder_fit"] + sum(v for k, v in enc.items() if k != "encoder_fit"),
        "model_build": clock.wall["model_build"] - enc.get("model_build", 0.0),
        "first_epoch": first_epoch,
        "later_epochs": later_epochs,
        "validation": validation,
        "fit_other": fit_other,
        "predict": clock.wall["predict"] - enc.get("predict", 0.0),
        "evaluate": evaluate_s,
        "save": save_s,
        "other": recipe_s - clock.wall["encoder_fit"] - clock.wall["fit"] - clock.wall["predict"] - enc.get(None, 0.0),
    }
    total = sum(parts.values())
    result: dict = {f"{p}_s": v for p, v in parts.items()}
    result.update({f"{p}_share": v / total for p, v in parts.items()})
    epochs_run = len(history)
    train_rows = int(out.train_size)
    result.update(
        total_s=total, parts=list(PARTS), wall_s=ended - args.spawned_at if args.spawned_at else None,
        data_load_s=data_load, epoch_times_from=source, epoch_train_s=train_s, epoch_val_s=val_s,
        encode_s=sum(enc.values()), validation_encode_moved_s=moved, fit_s=clock.wall["fit"],
        pipeline_fit_seconds=out.fit_seconds, epochs_run=epochs_run, train_rows=train_rows,
        trained_samples=int(out.trained_samples),
        epoch_samples_per_s=train_rows * len(train_s) / sum(train_s) if train_s else None,
        later_epoch_samples_per_s=train_rows * (len(train_s) - 1) / later_epochs if later_epochs > 0 else None,
        macro_f1=evaluation.overall.get("macro_f1"), rows=len(data), dataset=DATASET, seed=args.seed,
        threads=args.threads, settings=settings.to_json(), tensorflow=tf.__version__, keras=keras.__version__,
        **_code_info())
    return result


def table(result: dict) -> str:
    lines = [f"{'part':<18} {'seconds':>8} {'share':>7}"]
    lines += [f"{p:<18} {result[f'{p}_s']:>8.2f} {100 * result[f'{p}_share']:>6.1f}%" for p in result["parts"]]
    lines.append(f"{'total':<18} {result['total_s']:>8.2f}")
    lines.append(f"epochs run {result['epochs_run']} (times from {result['epoch_times_from']}); code: "
                 f"{result['core_path']} @ {result['core_commit']}{' (modified)' if result['core_modified'] else ''}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fit_profile",
                                     description="Where the time of one baseline run goes (see the module docstring).")
    parser.add_argument("--out", default=None, help="write the result as JSON here")
    parser.add_argument("--datasets", default="../shared/datasets", help="the shared datasets folder")
    parser.add_argument("--rows", type=int, default=None, help=f"clothing rows (default {ROWS:,}; --quick: 600)")
    parser.add_argument("--settings", default=None, help="training settings as JSON (default: the benchmark's)")
    parser.add_argument("--quick", action="store_true", help="the quick benchmark's tiny sample and model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads (default 1, as one lab slot)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spawned-at", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.datasets = Path(args.datasets).resolve()
    if args.child:
        result = child(args)
        Path(args.out).write_text(json.dumps(result))
        return 0
    settings = json.loads(args.settings) if args.settings else (QUICK_SETTINGS if args.quick else BENCHMARK_SETTINGS)
    rows = args.rows or (600 if args.quick else ROWS)
    result = profile(datasets=args.datasets, rows=rows, settings=settings, seed=args.seed, threads=args.threads)
    print(table(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
