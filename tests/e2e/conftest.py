"""Browser tests: the real app (``streamlit run app.py``) in headless Chromium.

* One app, on a free port, serves one temporary workspace shared by every
  browser test (``IMBALANCE_LAB_WORKSPACE``, see "the shared workspace"
  below), with the worker's auto-start off; the tests that train or predict
  use the ``worker`` fixture (``python -m core --workspace W worker``). Both
  are started by ``benchmarks/app.py`` and ``benchmarks/processes.py``, each
  in its own process group, and the whole group is killed at teardown.
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
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from benchmarks.app import start_app
from benchmarks.processes import Service, wait_for, worker_service
from tests.e2e.shared import (
    CLASSES,
    COUNTS,
    DATASET_NAME,
    EXPERIMENT_NAME,
    RECIPES,
    SIGNAL_WORDS,
)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 30_000  # actions and waits
EXPECT_TIMEOUT_MS = 15_000  # assertions that retry
SCREENSHOTS = os.environ.get("IMBALANCE_LAB_SCREENSHOTS") == "1"


# ------------------------------------------------------------------ processes


def start_worker(workspace: Path, log_dir: Path, slots: int = 2) -> Service:
    """The product's worker on ``workspace``, once it holds the workspace's lease."""
    from core.jobs.lease import lease_holder
    from core.jobs.store import Store

    worker = worker_service(workspace, log_dir / "worker.log", "--slots", str(slots))
    store = Store(workspace)
    try:
        wait_for(lambda: worker.check_alive() or lease_holder(store, stale_after_s=20.0) == worker.pid, 30,
                 f"the worker to take the lease on {workspace}", every=0.2)
    except (RuntimeError, TimeoutError) as exc:
        worker.stop()
        pytest.fail(f"{exc}:\n{worker.tail()}")
    return worker


# ------------------------------------------------------------------ the shared workspace
# Every browser test uses one workspace, one app server, one worker and one
# Chromium (package scope: all gone once tests/e2e/ has run). The workspace
# holds one tiny 3-class dataset whose class names, texts and name carry HTML
# (tests/e2e/shared.py; test_html_labels checks that every page shows them as
# text); the tests that need it open the app at ``?dataset=<id>``, since the
# Data page tests add datasets of their own.
# It is trained once: test_experiment_flow submits an experiment through the
# browser and the worker trains it; the tests that read a finished experiment
# (``finished_experiment``) reuse that one, or, when the flow test has not run
# (e.g. ``-k html``), one trained in-process here.

@pytest.fixture(scope="package")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e") / "workspace"


@pytest.fixture(scope="package")
def dataset_id(workspace) -> str:
    """The shared dataset: a signal word per class among HTML that must stay text."""
    import numpy as np

    from core.data.dataset import LabeledTexts
    from core.jobs.store import Store

    texts = [f"{SIGNAL_WORDS[k][i % 3]} <i>item</i> {i} arrived <script>window.__pwned=3</script>"
             for k, n in enumerate(COUNTS) for i in range(n)]
    y = np.array([k for k, n in enumerate(COUNTS) for _ in range(n)])
    return Store(workspace).add_dataset(LabeledTexts(tuple(texts), y, CLASSES, name=DATASET_NAME),
                                        name=DATASET_NAME)


@pytest.fixture(scope="package")
def trained_experiments() -> dict[str, int]:
    """Where the flow test records the experiment it trained (``"flow"``)."""
    return {}


@pytest.fixture
def finished_experiment(workspace, dataset_id, trained_experiments) -> int:
    """The id of a finished experiment on the shared dataset (baseline and
    class weights, 1 seed, 1 epoch, plus the references): the flow test's, or
    else one trained here once, in-process."""
    from core.jobs.store import Status, Store

    if "flow" not in trained_experiments and "here" not in trained_experiments:
        from core.jobs.experiments import ExperimentSpec, submit
        from core.jobs.runner import execute_run
        from core.settings import TrainSettings

        store = Store(workspace)
        # units=3, not the flow's 2: should the flow test run later, it must train, not reuse these runs.
        settings = TrainSettings(epochs=1, patience=1, vocab_size=100, max_len=8, embedding_dim=2, units=3)
        experiment_id = submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=RECIPES, seeds=1,
                                                     settings=settings, name=EXPERIMENT_NAME))
        while (run := store.claim_next(os.getpid())) is not None:
            execute_run(store, run.id)
        trained_experiments["here"] = experiment_id
    experiment_id = trained_experiments.get("flow", trained_experiments.get("here"))
    # The shared worker may have claimed some of these runs meanwhile: wait for it to finish them.
    wait_for(lambda: all(r.status.ended for r in Store(workspace).runs(experiment=experiment_id)), 120,
             "the shared experiment's runs to end")
    runs = Store(workspace).runs(experiment=experiment_id)
    assert runs and all(r.status == Status.FINISHED for r in runs), [(r.recipe, r.status, r.error) for r in runs]
    return experiment_id


@pytest.fixture(scope="package")
def app_url(workspace, tmp_path_factory) -> Iterator[str]:
    """The app serving ``workspace`` (one server for every browser test)."""
    app, url = start_app(workspace, tmp_path_factory.mktemp("logs"))
    yield url
    app.stop()
    print(f"--- streamlit log (tail) ---\n{app.tail(2000)}")  # shown by pytest only when a test failed


@pytest.fixture(scope="package")
def worker(workspace, tmp_path_factory) -> Iterator[Service]:
    """A training worker serving ``workspace`` (the app's auto-start is off)."""
    service = start_worker(workspace, tmp_path_factory.mktemp("worker-logs"))
    yield service
    service.stop()
    print(f"--- worker log (tail) ---\n{service.tail(2000)}")


# ------------------------------------------------------------------ browser


@pytest.fixture(scope="package")
def browser_context():
    """Chromium with a fresh profile, closed once the browser tests have run (so it is gone while other tests run)."""
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
