"""A private Ray instance for the tests that train on Ray: ``ray start
--head --block`` as a child process in its own process group, on a free port,
2 CPUs, a small object store and a short fresh temp dir (Ray's socket paths
must stay under 107 bytes). Stopping it stops exactly that process group —
never ``ray stop``, which kills every Ray process on the machine.

It uses Ray's token authentication with a token of its own, which the
workers joining it are given too (``RayInstance.env``): set explicitly, so a
token file another Ray left in ``~/.ray`` (a worker's own Ray instance makes
one) cannot switch authentication on for the head only."""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.processes import Service, child_env, wait_for

START = "from ray.scripts.scripts import main; main()"  # the `ray` command, with this interpreter


def _address(temp_dir: Path, head: Service) -> str | None:
    """The head's address once it has written it (after every Ray process started)."""
    head.check_alive()
    path = temp_dir / "ray_current_cluster"
    return path.read_text().strip() or None if path.exists() else None


@dataclass(frozen=True)
class RayInstance:
    address: str  # HOST:PORT of its head
    env: dict[str, str]  # what a process joining it needs in its environment (the token)


@contextmanager
def private_ray(log: Path, *, cpus: int = 2) -> Iterator[RayInstance]:
    """Start the instance, yield its address and token, stop its process group."""
    temp_dir = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    head = Service("ray head", [sys.executable, "-c", START, "start", "--head", "--block", "--port=0",
                                f"--num-cpus={cpus}", "--include-dashboard=false", "--object-store-memory=200000000",
                                f"--temp-dir={temp_dir}"],
                   child_env(RAY_USAGE_STATS_ENABLED="0", **auth), log)
    try:
        address = wait_for(lambda: _address(temp_dir, head), 90, "the private Ray instance to start", every=0.2)
        yield RayInstance(address, auth)
    finally:
        head.stop(grace_s=2)  # `ray start --block` takes over 10 s to stop gracefully; nothing of it is kept
        shutil.rmtree(temp_dir, ignore_errors=True)
