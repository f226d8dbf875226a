"""``python -m benchmarks.worker_main WORKSPACE [--slots N] [--executor local|ray] --report FILE``:
the product's worker (``core.jobs.worker.run_worker``) serving until its queue is
empty, then the peak resident memory of its children written to FILE.

A thin wrapper rather than ``python -m core worker`` only so that the peak
RSS of the run children can be read from ``getrusage(RUSAGE_CHILDREN)`` — the
kernel's exact high-water mark of every child the worker waited for."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from core.jobs.worker import run_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_main")
    parser.add_argument("workspace")
    parser.add_argument("--slots", type=int, default=None, help="default: the product's (one per core)")
    parser.add_argument("--executor", default=None, help="default: the product's (local)")
    parser.add_argument("--report", required=True)
    args = parser.parse_args(argv)
    started = time.time()
    run_worker(args.workspace, slots=args.slots, until_idle=True, executor=args.executor)  # the product's poll interval
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(args.report, "w") as fh:
        json.dump({"children_max_rss_mb": children.ru_maxrss / 1024.0, "started": started, "ended": time.time(),
                   "children_cpu_s": children.ru_utime + children.ru_stime}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
