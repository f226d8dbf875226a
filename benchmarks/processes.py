"""Child processes the benchmark starts (worker, app, helpers): each in its
own session so that stopping it also stops what it started, with the
product's defaults (no ``IMBALANCE_LAB_*`` overrides leak in from the caller).

The one home of these helpers: the tests (``tests/worker_helpers.py``,
``tests/e2e/conftest.py``) and the scripts (``scripts/kill_loop.py``,
``scripts/engine_drill.py``) import them from here; whether a pid is alive is
``core.jobs.processes.pid_alive``."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
_LIVE: list["Service"] = []


def child_env(workspace: Path | None = None, **extra: str) -> dict[str, str]:
    """The caller's environment minus every ``IMBALANCE_LAB_*`` setting (so the
    product runs with its defaults), with the worker auto-start off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMBALANCE_LAB_")}
    env.update(IMBALANCE_LAB_NO_AUTOSTART="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    if workspace is not None:
        env["IMBALANCE_LAB_WORKSPACE"] = str(workspace)
    env.update(extra)
    return env


class Service:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log_fh = open(log, "wb")
        self.process = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=self._log_fh, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        _LIVE.append(self)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def check_alive(self) -> None:
        """Raise, with the log's tail, if the process has exited."""
        if not self.alive():
            raise RuntimeError(f"{self.name} exited with code {self.process.returncode}:\n{self.tail()}")

    def tail(self, n: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM this process's group, then SIGKILL whatever is left of it."""
        pgid = self.process.pid  # start_new_session: the group id is the child's pid
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            if not group_alive(pgid):
                break
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                self.process.poll()
                if not group_alive(pgid):
                    break
                time.sleep(0.05)
            else:
                continue
            break
        self.process.poll()
        if not self._log_fh.closed:
            self._log_fh.close()
        if self in _LIVE:
            _LIVE.remove(self)


def group_alive(pgid: int) -> bool:
    """Whether process group ``pgid`` has a member that is not a zombie. Orphans
    that died are zombies until init reaps them, which can take seconds; they
    count as gone."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    try:
        stats = list(Path("/proc").glob("[0-9]*/stat"))
    except OSError:
        return True
    for stat in stats:
        try:
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if int(pgrp) == pgid and state != "Z":
            return True
    return not stats  # no /proc: trust killpg


def worker_service(workspace: Path, log: Path, *args: str, **env: str) -> Service:
    """The product's worker, ``python -m core --workspace W worker ARGS``, with
    ``child_env(workspace)`` plus ``env`` (e.g. ``IMBALANCE_LAB_WORKER_SLOTS="1"``)."""
    return Service("worker", [sys.executable, "-m", "core", "--workspace", str(workspace), "worker", *args],
                   child_env(workspace, **env), log)


def wait_for(predicate, timeout: float, what: str, every: float = 0.05):
    """Poll ``predicate`` until it returns something truthy (returned); raise
    TimeoutError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def run_python(module: str, args: list[str], *, log: Path, env: dict[str, str] | None = None,
               timeout_s: float = 3600) -> None:
    """Run ``python -m module args`` to completion; raise with its log tail on failure."""
    service = Service(module, [sys.executable, "-m", module, *args], env or child_env(), log)
    try:
        code = service.wait(timeout_s)
        if code is None:
            raise RuntimeError(f"{module} did not finish within {timeout_s:.0f} s:\n{service.tail()}")
        if code != 0:
            raise RuntimeError(f"{module} exited with code {code}:\n{service.tail()}")
    finally:
        service.stop()


def rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    """A field of /proc/<pid>/status in MiB (VmRSS now, VmHWM the peak so far)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


@atexit.register
def _stop_all() -> None:
    for service in list(_LIVE):
        service.stop(grace_s=5.0)
