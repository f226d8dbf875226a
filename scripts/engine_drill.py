"""The experiment engine's drill (issue #5), through the CLI only: submit the
baseline + 5 recipes × 3 seeds on the built-in sample in the background,
follow it, SIGKILL the worker once some runs have finished, re-queue what the
kill interrupted and start a new worker, then check that no finished run was
lost or changed and print the comparison (mean ± CI, significance vs baseline).

    .venv/bin/python scripts/engine_drill.py [--workspace DIR] [--kill-after 6] [--slots N]

Prints the wall time from submit to the last run's end (the kill and restart
included) and the time lost to the kill."""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.processes import wait_for, worker_service  # noqa: E402
from core.jobs.lease import lease_holder  # noqa: E402
from core.jobs.processes import pid_alive  # noqa: E402
from core.jobs.records import Status  # noqa: E402
from core.jobs.store import Store  # noqa: E402

RECIPES = ("class_weight", "focal", "logit_adjusted", "random_oversample", "threshold")


def cli(workspace: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "--workspace", str(workspace), *args], cwd=ROOT,
                          check=True, text=True, **kwargs)


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def line(store: Store) -> str:
    runs = store.runs()
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.status] = counts.get(r.status, 0) + 1
    live = [f"{r.recipe} s{r.seed} epoch {r.progress.get('epoch', '?')}/{r.progress.get('epochs', '?')}"
            for r in runs if r.status is Status.RUNNING and r.progress]
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + (" | " + "; ".join(live) if live else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", default="/tmp/imbalance-lab-engine-drill")
    parser.add_argument("--kill-after", type=int, default=6, help="finished LSTM runs before the worker is killed")
    parser.add_argument("--slots", type=int, default=None)
    args = parser.parse_args()
    workspace = Path(args.workspace)
    shutil.rmtree(workspace, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "IMBALANCE_LAB_NO_AUTOSTART"}
    if args.slots:
        env["IMBALANCE_LAB_WORKER_SLOTS"] = str(args.slots)

    started = time.time()
    recipe_flags = [flag for r in RECIPES for flag in ("--recipe", r)]
    cli(workspace, "train", str(ROOT / "data" / "clothing_reviews_sample.csv"), "--text-col", "text",
        "--label-col", "stars", "--ordinal-order", "1,2,3,4,5", "--seeds", "3", *recipe_flags, "--no-wait",
        "--name", "engine drill", env=env)
    store = Store(workspace)
    last = ""
    def lstm_mid_epoch() -> bool:
        return any(r.status is Status.RUNNING and not r.recipe.startswith("ref:") and (r.progress or {}).get("stage") == "fit"
                   and 0 < (r.progress or {}).get("batch", 0) < (r.progress or {}).get("batches", 0)
                   for r in store.runs())

    # Kill once enough LSTM runs have finished, at a moment when another is in the middle of an epoch.
    while (len([r for r in store.runs(status=Status.FINISHED) if not r.recipe.startswith("ref:")]) < args.kill_after
           or not lstm_mid_epoch()):
        if (now := line(store)) != last:
            print(f"{time.time() - started:6.1f} s  {now}", flush=True)
            last = now
        time.sleep(1)
    before = {r.id: digest(store.root / r.result_dir) for r in store.runs(status=Status.FINISHED)}
    worker = lease_holder(store, 30.0)
    os.kill(worker, signal.SIGKILL)
    killed_at = time.time()
    wait_for(lambda: not pid_alive(worker), 60, f"worker {worker} to die", every=0.1)
    print(f"{killed_at - started:6.1f} s  SIGKILL worker {worker} with {len(before)} runs finished", flush=True)

    new_worker = worker_service(workspace, workspace / "logs" / "engine-drill-worker.log", "--until-idle",
                                **{k: v for k, v in env.items() if k.startswith("IMBALANCE_LAB_")})
    while not (interrupted := store.runs(status=Status.INTERRUPTED)) and store.runs(status=Status.RUNNING):
        time.sleep(0.2)  # the new worker marks the killed runs interrupted when it starts
    for run in interrupted:
        cli(workspace, "runs", "requeue", str(run.id), stdout=subprocess.DEVNULL)
    print(f"{time.time() - started:6.1f} s  new worker {new_worker.pid}; re-queued {len(interrupted)} interrupted "
          f"runs: {', '.join(f'{r.recipe} s{r.seed}' for r in interrupted)}", flush=True)
    while new_worker.alive():
        if (now := line(store)) != last:
            print(f"{time.time() - started:6.1f} s  {now}", flush=True)
            last = now
        time.sleep(1)
    ended = max(r.finished or 0 for r in store.runs())
    after = {r.id: digest(store.root / r.result_dir) for r in store.runs(status=Status.FINISHED) if r.id in before}
    statuses = {r.status for r in store.runs()}
    print(f"\nwall time, submit to last run: {ended - started:.0f} s ({len(store.runs())} runs, "
          f"{len(interrupted)} re-run after the kill); statuses now: {sorted(statuses)}")
    print(f"finished before the kill: {len(before)}; unchanged after it: "
          f"{sum(before[i] == after.get(i) for i in before)}")
    experiment_id = store.experiments()[0]["id"]
    cli(workspace, "experiment", "show", str(experiment_id))


if __name__ == "__main__":
    main()
