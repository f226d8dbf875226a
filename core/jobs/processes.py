"""Process helpers shared by the worker's children (run and prediction processes), and the filter that
keeps TensorFlow's start-up logging out of the command line's output."""

from __future__ import annotations

import ctypes
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# TensorFlow (2.21) logs through absl before absl::InitializeLog() is called, so TF_CPP_MIN_LOG_LEVEL does not
# silence what it writes while it loads and on its first ops: the absl preamble, then e.g.
# "I0000 00:00:1796062556.636728    2340 port.cc:153] oneDNN custom operations are on. …".
_ABSL_PREAMBLE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_ABSL_LINE = re.compile(rb"([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\] ")  # absl's C++ format
_TSL_LINE = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) [^ \]]+:\d+\] ")  # TensorFlow's older one
_PYTHON_ABSL_LINE = re.compile(rb"(?:INFO|WARNING):absl:")  # absl-py through Python's logging
_FLUSHED = b"\x00imbalance-lab stderr filter: flushed\x00"


def is_tensorflow_noise(line: bytes) -> bool:
    """Whether a line of standard error is TensorFlow's routine logging: absl's preamble, INFO and WARNING
    lines of its C++ or Python logging, and its oneDNN notices at any level. Other ERROR lines (a real
    failure), tracebacks and everything else are kept."""
    if line.startswith(_ABSL_PREAMBLE) or _PYTHON_ABSL_LINE.match(line):
        return True
    match = _ABSL_LINE.match(line) or _TSL_LINE.match(line)
    return bool(match) and (match.group(1) in (b"I", b"W") or b"oneDNN" in line)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _copy_kept_lines(read_end: int, target: int, flushed: threading.Event) -> None:
    """Copy lines from the pipe to ``target`` without TensorFlow's noise, until every writer has closed it.
    A failed write drops the line and reading goes on, so no writer ever blocks on a full pipe."""
    with open(read_end, "rb") as pipe:
        for line in pipe:
            if _FLUSHED in line:
                line = line.replace(_FLUSHED + b"\n", b"").replace(_FLUSHED, b"")
                flushed.set()
            if line and not is_tensorflow_noise(line):
                try:
                    _write_all(target, line)
                except OSError:
                    pass
    os.close(target)


@contextmanager
def tensorflow_logs_left_out() -> Iterator[None]:
    """Route this process's standard error (file descriptor 2, so C++ logging too) through a pipe that leaves
    out TensorFlow's routine logging (``is_tensorflow_noise``). Processes started inside inherit the pipe,
    so a worker's training and prediction processes are filtered with it. On leaving, everything this
    process wrote is passed on before it returns; a process that has no standard error is left alone."""
    try:
        original = os.dup(2)
    except OSError:
        yield
        return
    read_end, write_end = os.pipe()
    flushed = threading.Event()
    threading.Thread(target=_copy_kept_lines, args=(read_end, original, flushed), name="stderr-filter",
                     daemon=True).start()
    sys.stderr.flush()
    os.dup2(write_end, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # the copier keeps its own descriptor of the real stderr
        _write_all(write_end, _FLUSHED + b"\n")  # lines before it are passed on once the copier reaches it
        os.close(write_end)
        flushed.wait(timeout=5.0)


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
