"""Browser tests: the real app (``streamlit run app.py``) in headless Chromium.

* The app runs on a free port against a temporary workspace
  (``IMBALANCE_LAB_WORKSPACE``), with the worker's auto-start off; a test that
  trains starts its own worker (``python -m core --workspace W worker``).
  Every process is started in its own process group and the whole group is
  killed at teardown.
* Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright (never
  ``playwright install``); ``scripts/test.sh`` installs it.
* Waiting follows streamlit/streamlit's e2e_playwright/conftest.py: the app
  publishes ``data-test-connection-state`` and ``data-test-script-state`` on
  its root element, so "the rerun has finished" is asked, not guessed.
* Screenshots are written to ``docs/screenshots/`` only when
  ``IMBALANCE_LAB_SCREENSHOTS=1``; ordinary runs write nothing in the repo.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 30_000  # actions and waits
EXPECT_TIMEOUT_MS = 15_000  # assertions that retry
SCREENSHOTS = os.environ.get("IMBALANCE_LAB_SCREENSHOTS") == "1"


# ------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self._log_fh = open(log, "wb")
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log_fh, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)

    def tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"{self.name} exited with code {self.process.returncode}:\n{self.tail()}")

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left of it."""
        pgid = self.process.pid  # start_new_session: the group id is the child's pid
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                continue
            try:  # the leader is gone; its group may still hold children (e.g. a training process)
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
        self._log_fh.close()


def child_env(workspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMBALANCE_LAB_")}
    env.update(IMBALANCE_LAB_WORKSPACE=str(workspace), IMBALANCE_LAB_NO_AUTOSTART="1", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               PYTHONUNBUFFERED="1")
    return env


def start_app(workspace: Path, log_dir: Path) -> tuple[Service, str]:
    port = free_port()
    args = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--server.runOnSave", "false", "--global.developmentMode", "false"]
    app = Service("streamlit", args, child_env(workspace), log_dir / "streamlit.log")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        app.check_alive()
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return app, url
        except OSError:
            pass
        if time.monotonic() > deadline:
            app.stop()
            pytest.fail(f"the app did not answer {url}/_stcore/health within 60 s:\n{app.tail()}")
        time.sleep(0.2)


def start_worker(workspace: Path, log_dir: Path, slots: int = 2) -> Service:
    worker = Service("worker", [sys.executable, "-m", "core", "--workspace", str(workspace), "worker",
                                "--slots", str(slots)], child_env(workspace), log_dir / "worker.log")
    from core.store import Store
    from core.worker import lease_holder

    store, deadline = Store(workspace), time.monotonic() + 30
    while lease_holder(store, stale_after_s=20.0) != worker.process.pid:
        worker.check_alive()
        if time.monotonic() > deadline:
            worker.stop()
            pytest.fail(f"the worker took no lease on {workspace} within 30 s:\n{worker.tail()}")
        time.sleep(0.2)
    return worker


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e") / "workspace"


@pytest.fixture(scope="module")
def app_url(workspace, tmp_path_factory) -> Iterator[str]:
    """The app serving ``workspace`` (one server per test module)."""
    app, url = start_app(workspace, tmp_path_factory.mktemp("logs"))
    yield url
    app.stop()
    print(f"--- streamlit log (tail) ---\n{app.tail(2000)}")  # shown by pytest only when a test failed


@pytest.fixture(scope="module")
def worker(workspace, tmp_path_factory) -> Iterator[Service]:
    """A training worker serving ``workspace`` (the app's auto-start is off)."""
    service = start_worker(workspace, tmp_path_factory.mktemp("worker-logs"))
    yield service
    service.stop()
    print(f"--- worker log (tail) ---\n{service.tail(2000)}")


# ------------------------------------------------------------------ browser


@pytest.fixture(scope="module")
def browser_context():
    """Chromium with a fresh profile, closed after each module (so it is gone while other tests run)."""
    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's Chromium at /usr/bin/chromium: run scripts/test.sh as root, or "
                    "`apt-get install -y chromium chromium-driver`")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)  # the default 5 s is short on 2 busy cores

    with tempfile.TemporaryDirectory(prefix="imbalance-lab-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT,
            timeout=60_000)
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context):
    """A fresh tab (a fresh Streamlit session); page errors fail the test."""
    tab = browser_context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    tab.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


# ------------------------------------------------------------------ helpers


class UI:
    """What the tests do with a tab (a fixture, so test modules import nothing
    from this conftest)."""

    def __init__(self, page) -> None:
        self.page = page

    @property
    def main(self):
        return self.page.locator("[data-testid='stMain']")

    def wait(self, initial_wait_ms: int = 250) -> None:
        """Block until Streamlit is connected and its script has finished running.

        ``data-test-script-state`` cycles initial → running → notRunning on
        every rerun, so wait a little first, for a rerun triggered by the last
        action to begin."""
        self.page.wait_for_timeout(initial_wait_ms)
        self.page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached")
        self.page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached")
        self.page.locator("[data-testid='stSkeleton']").first.wait_for(state="detached")

    def open(self, url: str) -> None:
        self.page.goto(url, wait_until="domcontentloaded")
        self.page.locator("[data-testid='stAppViewContainer']").wait_for(state="attached")
        self.wait()

    def reload(self) -> None:
        self.page.reload(wait_until="domcontentloaded")
        self.page.locator("[data-testid='stAppViewContainer']").wait_for(state="attached")
        self.wait()

    def nav(self, title: str) -> None:
        """Follow a sidebar navigation link (a page switch inside the session)."""
        link = self.page.locator("[data-testid='stSidebarNav'] a").filter(
            has_text=re.compile(rf"^\W*{re.escape(title)}\s*$"))
        link.click()
        self.wait()

    def text(self) -> str:
        return self.page.locator("body").inner_text()

    def assert_no_traceback(self) -> None:
        """No exception box and no traceback text anywhere on the page."""
        body = self.text()
        assert "Traceback" not in body, body[-3000:]
        assert self.page.locator("[data-testid='stException']").count() == 0, body[-3000:]

    def screenshot(self, name: str) -> None:
        if not SCREENSHOTS:
            return
        target = ROOT / "docs" / "screenshots" / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(target), full_page=True)


@pytest.fixture
def ui(page) -> UI:
    return UI(page)
