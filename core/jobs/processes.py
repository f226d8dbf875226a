"""Process helpers shared by the worker's children (run and prediction processes)."""

from __future__ import annotations

import ctypes
import os
import signal


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent (the worker) dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def pid_alive(pid: int | None) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True
