"""``python -m benchmarks.peak OUT.json [--n N] [--batch B --width W --units H]``:
the machine's fp32 GEMM peak, measured with numpy on large square matrices
using every core (the denominator of "fraction of peak"), plus two numbers
that explain the gap: the same GEMM on one thread (each training process of
the product has one), and the small GEMM one LSTM time step performs
(batch × (e+h)) · ((e+h) × 4h) on one thread.

The caller runs this without ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE``
(they slow a current numpy on this CPU; see the benchmark report)."""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def gflops(a: np.ndarray, b: np.ndarray, *, min_seconds: float = 1.0, repeats: int = 3) -> float:
    """Best GFLOP/s of ``a @ b`` over ``repeats`` timed batches of at least ``min_seconds``."""
    flops = 2.0 * a.shape[0] * a.shape[1] * b.shape[1]
    a @ b  # warm up (thread pool start, page faults)
    best = 0.0
    for _ in range(repeats):
        n, started = 0, time.perf_counter()
        while True:
            a @ b
            n += 1
            elapsed = time.perf_counter() - started
            if elapsed >= min_seconds:
                break
        best = max(best, n * flops / elapsed / 1e9)
    return best


def main(argv: list[str] | None = None) -> int:
    from threadpoolctl import threadpool_info, threadpool_limits

    parser = argparse.ArgumentParser(prog="python -m benchmarks.peak")
    parser.add_argument("out")
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--width", type=int, default=128, help="e + h: LSTM input width plus units")
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((args.n, args.n), dtype=np.float32)
    b = rng.standard_normal((args.n, args.n), dtype=np.float32)
    x = rng.standard_normal((args.batch, args.width), dtype=np.float32)
    w = rng.standard_normal((args.width, 4 * args.units), dtype=np.float32)
    result = {"n": args.n, "peak_gflops": gflops(a, b, min_seconds=args.min_seconds)}
    with threadpool_limits(limits=1):
        result["single_thread_gflops"] = gflops(a, b, min_seconds=args.min_seconds)
        result["lstm_step_gemm_gflops"] = gflops(x, w, min_seconds=args.min_seconds / 2)
    result["lstm_step_shape"] = [args.batch, args.width, 4 * args.units]
    result["blas"] = [{k: v for k, v in pool.items() if k in ("internal_api", "version", "num_threads", "architecture")}
                      for pool in threadpool_info()]
    with open(args.out, "w") as fh:
        json.dump(result, fh)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
