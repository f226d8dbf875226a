"""The real app (``scripts/serve.py``: ``streamlit run app.py``) on a free local port, serving a
given workspace, with the worker auto-start off (the benchmark runs its own
worker)."""

from __future__ import annotations

import socket
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks.processes import REPO_ROOT, Service, child_env

# Every page of app.py and its URL path (st.Page derives it from the file name; Data is the default page).
PAGES = {"Data": "", "Experiment": "experiment", "Runs": "runs", "Compare": "compare", "Merge explorer": "merge",
         "Predict": "predict", "Report": "report"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(workspace: Path, log_dir: Path, timeout_s: float = 90, **env: str) -> tuple[Service, str]:
    """Start the app and wait for ``/_stcore/health``; returns the service and its base URL. ``env`` adds
    settings to the app's environment (e.g. ``IMBALANCE_LAB_READ_ONLY="1"``)."""
    port = free_port()
    args = [sys.executable, str(REPO_ROOT / "scripts" / "serve.py"), "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--server.runOnSave", "false", "--global.developmentMode", "false"]
    app = Service("streamlit", args, child_env(workspace, **env), log_dir / "streamlit.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        if not app.alive():
            raise RuntimeError(f"the app exited with code {app.process.returncode}:\n{app.tail()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return app, url
        except OSError:
            pass
        if time.monotonic() > deadline:
            app.stop()
            raise RuntimeError(f"the app did not answer {url}/_stcore/health within {timeout_s:.0f} s:\n{app.tail()}")
        time.sleep(0.2)
