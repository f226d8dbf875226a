"""Where and with what a benchmark ran: CPU model, cores, RAM, library versions."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

LIBRARIES = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "pandas", "scikit-learn", "imbalanced-learn", "scipy",
             "plotly", "streamlit", "playwright", "pyarrow")
CHROMIUM = Path("/usr/bin/chromium")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def chromium_version() -> str | None:
    if not CHROMIUM.exists():
        return None
    try:
        return subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    chromium = chromium_version()
    if chromium:
        found["chromium"] = chromium
    return found


def describe() -> dict:
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "ram_gib": ram_gib(), "os": platform.platform(),
            "load_average_at_start": list(os.getloadavg()), "versions": versions(),
            "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}}
