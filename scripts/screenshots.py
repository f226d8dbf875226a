"""Regenerate ``docs/screenshots/`` from an experiment on the built-in sample, as a new user would see it.

    .venv/bin/python scripts/screenshots.py            # about 5 minutes on 2 cores

In a fresh workspace (a temporary folder): the built-in sample (4,000 real clothing reviews), an experiment of the
baseline, balanced class weights and focal loss, 3 seeds at the product's default settings, trained by a worker;
then the app in headless Chromium, one full-page screenshot per page. The README links them, so they show real
reviews and real numbers rather than the browser tests' generated data.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.data.sample import add_sample  # noqa: E402
from core.jobs.experiments import ExperimentSpec, submit  # noqa: E402
from core.jobs.store import Store  # noqa: E402
from core.settings import Settings, TrainSettings  # noqa: E402

RECIPES = ("baseline", "class_weight(scheme=balanced)", "focal")
SEEDS = 3
PORT = 8597
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = (("data", "Data"), ("experiment", "Experiment"), ("runs", "Runs"), ("compare", "Compare"),
         ("merge", "Merge explorer"), ("predict", "Predict"), ("report", "Report"))


def train(workspace: Path) -> tuple[str, int]:
    store = Store(workspace)
    dataset_id = add_sample(store, Settings())
    experiment_id = submit(store, ExperimentSpec(dataset_id=dataset_id, recipes=RECIPES, seeds=SEEDS,
                                                 settings=TrainSettings(), name="clothing: weights vs focal"))
    env = {**os.environ, "IMBALANCE_LAB_WORKSPACE": str(workspace)}
    started = time.time()
    subprocess.run([sys.executable, "-m", "core", "--workspace", str(workspace), "worker", "--until-idle"],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"trained {len(store.runs(experiment=experiment_id))} runs in {time.time() - started:.0f} s")
    return dataset_id, experiment_id


def wait_for_script(page) -> None:
    page.wait_for_timeout(500)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached")
    page.locator("[data-testid='stSkeleton']").first.wait_for(state="detached")
    page.wait_for_timeout(1500)  # plotly figures draw after the script run


def shoot(url: str, target: Path) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path="/usr/bin/chromium", headless=True,
                                                        args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1800})
        context.set_default_timeout(120_000)
        page = context.new_page()
        page.goto(url, wait_until="domcontentloaded")
        wait_for_script(page)
        for name, title in PAGES:
            page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
            wait_for_script(page)
            page.screenshot(path=str(target / f"{name}.png"), full_page=True)
            print(f"{name}.png")
        context.close()


def main() -> None:
    target = ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="imbalance-lab-screens-") as tmp:
        workspace = Path(tmp) / "workspace"
        dataset_id, experiment_id = train(workspace)
        env = {**os.environ, "IMBALANCE_LAB_WORKSPACE": str(workspace), "IMBALANCE_LAB_NO_AUTOSTART": "1"}
        app = subprocess.Popen([sys.executable, "scripts/serve.py", "--server.port", str(PORT),
                                "--server.headless", "true"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            time.sleep(6)
            shoot(f"http://127.0.0.1:{PORT}/?dataset={dataset_id}&experiment={experiment_id}", target)
        finally:
            app.terminate()
            app.wait(30)


if __name__ == "__main__":
    main()
