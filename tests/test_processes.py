"""core.jobs.processes: the filter that keeps TensorFlow's routine logging out of the command line's output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.jobs.processes import is_tensorflow_noise

ROOT = Path(__file__).resolve().parent.parent
# Lines TensorFlow 2.21 wrote on this machine when a training process loaded it and ran its first ops.
ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
ONEDNN_INFO = ("I0000 00:00:1796062556.636728    2340 port.cc:153] oneDNN custom operations are on. You may see "
               "slightly different numerical results due to floating-point round-off errors from different "
               "computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.")
ONEDNN_ERROR = ("E0000 00:00:1796062568.749427    2340 util.cc:131] oneDNN supports DT_BOOL only on platforms "
                "with AVX-512. Falling back to the default Eigen-based implementation if present.")


@pytest.mark.parametrize(("line", "noise"), [
    (ABSL_PREAMBLE, True), (ONEDNN_INFO, True), (ONEDNN_ERROR, True),
    ("W0101 12:00:00.000001   77 cpu_feature_guard.cc:210] This TensorFlow binary is optimized", True),
    ("2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could not find cuda", True),
    ("WARNING:absl:Compiled the loaded model, but the compiled metrics have yet to be built.", True),
    ("E0000 00:00:1796062568.749427    2340 op_kernel.cc:1] OOM when allocating tensor", False),  # a real error
    ("Traceback (most recent call last):", False),
    ("worker serving /tmp/workspace (Ctrl+C to stop)", False),
])
def test_tensorflows_routine_logging_is_told_from_everything_else(line, noise):
    assert is_tensorflow_noise(f"{line}\n".encode()) is noise


def test_the_filter_leaves_out_noise_of_this_process_and_its_children_and_passes_the_rest_on_in_order():
    child = f"import sys; sys.stderr.write({ONEDNN_ERROR + chr(10) + 'child kept' + chr(10)!r})"
    script = f"""
import os, subprocess, sys
from core.jobs.processes import tensorflow_logs_left_out
with tensorflow_logs_left_out():
    os.write(2, {(ABSL_PREAMBLE + chr(10) + ONEDNN_INFO + chr(10)).encode()!r})  # as TensorFlow's C++ writes it
    subprocess.run([sys.executable, "-c", {child!r}])
    print("parent kept", file=sys.stderr)
print("after the filter", file=sys.stderr)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "child kept\nparent kept\nafter the filter\n"
