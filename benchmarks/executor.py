"""``python -m benchmarks.executor WORKSPACE [--threads N]``: execute queued
runs one after another in this process with ``core.jobs.runner.execute_and_record`` —
the worker's own training and recording, without its processes — until the queue is empty.

Used only by ``--quick`` for the quality section, where tiny runs would spend
most of their time starting a process and importing TensorFlow; full runs
always go through the worker (``benchmarks.lab.serve``)."""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.executor")
    parser.add_argument("workspace")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    from core.jobs.runner import execute_and_record
    from core.jobs.store import Store
    from core.keras import train

    train.configure_threads(args.threads)
    store = Store(args.workspace)
    while (run := store.claim_next(os.getpid())) is not None:
        execute_and_record(store, run.id)  # every outcome recorded as the worker records it; the loop goes on
    return 0


if __name__ == "__main__":
    sys.exit(main())
