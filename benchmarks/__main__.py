"""``python -m benchmarks [--quick] [--out DIR] [--datasets DIR] [--fresh] [--sections a,b,...]``.

Runs the chosen sections (default: all), merges their keys into
``DIR/benchmarks/results.json`` (keeping other sections' keys), and rewrites
``DIR/BENCHMARKS.md`` and the figures from the merged results."""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path

from benchmarks import SECTIONS
from benchmarks import results as results_file
from benchmarks.config import config
from benchmarks.context import Context
from benchmarks.datasets import resolve_datasets_dir
from benchmarks.machine import describe
from benchmarks.processes import REPO_ROOT


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="tiny data and models: every key in a few minutes")
    parser.add_argument("--out", default=str(REPO_ROOT), help="where BENCHMARKS.md and benchmarks/results.json go "
                                                               "(default: the repository root)")
    parser.add_argument("--datasets", default=None, help="the shared datasets folder (default: ../shared/datasets, "
                                                         "relative to the repository root)")
    parser.add_argument("--quality-datasets", default=None,
                        help="comma-separated subset of the quality section's datasets (e.g. sms_spam,vader_tweets); "
                             "use with --out elsewhere: the section's keys are replaced, not merged")
    parser.add_argument("--protocol-candidates", default=None,
                        help="comma-separated subset of the protocol's candidates to train; the other candidates' "
                             "rows of the earlier run stay in results.json")
    parser.add_argument("--fresh", action="store_true", help="empty the benchmark workspace first (no reused runs)")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    unknown = sorted({k.strip() for k in (args.quality_datasets or "").split(",") if k.strip()}
                     - set(config(False).quality_caps))
    if unknown:
        parser.error(f"--quality-datasets: unknown {', '.join(unknown)}; choose from "
                     f"{', '.join(config(False).quality_caps)}")
    return args


def workspace_path(out: Path) -> Path:
    return out / "benchmarks" / "workspace"


def empty_workspace(path: Path) -> None:
    """Remove the benchmark workspace (only if it looks like one)."""
    if path.exists():
        if any(path.iterdir()) and not (path / "lab.sqlite").exists():
            raise SystemExit(f"--fresh: {path} is not an Imbalance Lab workspace; not removing it.")
        shutil.rmtree(path)


def cpu_seconds() -> float:
    """CPU time of this process and of every child process it has waited for (and theirs)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                   resource.getrusage(resource.RUSAGE_CHILDREN)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out).resolve()
    datasets = resolve_datasets_dir(args.datasets, REPO_ROOT)
    if not datasets.is_dir():
        raise SystemExit(f"datasets folder {datasets} not found; pass --datasets DIR")
    workspace = workspace_path(out)
    if args.fresh:
        empty_workspace(workspace)
    scratch = Path(tempfile.mkdtemp(prefix="imbalance-lab-bench-"))
    cfg = config(args.quick)
    if args.quality_datasets:
        keep = [k.strip() for k in args.quality_datasets.split(",") if k.strip()]
        cfg = replace(cfg, quality_caps={k: cfg.quality_caps[k] for k in keep})
    if args.protocol_candidates:
        cfg = replace(cfg, protocol_candidates=tuple(k.strip() for k in args.protocol_candidates.split(",")
                                                     if k.strip()))
    ctx = Context(cfg, out, datasets, workspace, scratch)
    command = "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:])
    machine = describe()
    failed: list[str] = []
    started_all = time.time()
    for name in args.sections:
        ctx.log(f"section {name}: start")
        started, cpu = time.time(), cpu_seconds()
        meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "quick": args.quick, "command": command,
                "machine": f"{machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']:.0f} GiB RAM",
                "load_average_at_start": list(os.getloadavg())}
        try:
            new = importlib.import_module(f"benchmarks.{name}").run(ctx)
            meta.update(wall_s=time.time() - started, cpu_s=cpu_seconds() - cpu)
        except Exception as exc:  # record, keep going with the other sections
            traceback.print_exc()
            failed.append(name)
            new = {}
            meta.update(wall_s=time.time() - started, cpu_s=cpu_seconds() - cpu,
                        error=f"{type(exc).__name__}: {str(exc)[:2000]}")
        merged = results_file.merge(results_file.load(out), {**new, "meta": {"machine": machine}}, {name: meta})
        results_file.save(out, merged)
        ctx.log(f"section {name}: {'FAILED' if name in failed else 'done'} in {meta['wall_s']:.0f} s "
                f"({meta['cpu_s']:.0f} CPU s)")
        for key, value in results_file.flatten(new).items():
            if not isinstance(value, (list, dict)):
                print(f"{key} = {value:.4g}" if isinstance(value, float) else f"{key} = {value}", flush=True)
    from benchmarks.benchmarks_md import write_report

    report = write_report(out, results_file.load(out))
    ctx.log(f"wrote {report} and {results_file.results_path(out)} in {time.time() - started_all:.0f} s")
    if failed:
        ctx.log(f"failed sections: {', '.join(failed)}; logs kept in {scratch}")
        return 1
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
