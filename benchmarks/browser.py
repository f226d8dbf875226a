"""Headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright —
never ``playwright install``) with a fresh profile, and the definition of a
*full render*.

A full render is timed from ``page.goto`` in a new tab (so a new Streamlit
session: websocket connect, the Streamlit and plotly.js bundles compiled
again, the whole page script, every element sent and drawn) — or, for an
in-app page switch, from the click on the page's sidebar link in a tab that
is already open — until (1) the page's expected content is drawn — for plotly charts, the
chart's SVG visible with its bars drawn into it, for the leaderboard the data grid's canvas — and (2)
Streamlit reports its script run finished (``data-test-script-state =
notRunning``, connected, no skeleton placeholders left)."""

from __future__ import annotations

import re
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 60_000


@contextmanager
def chromium() -> Iterator[object]:
    """A Playwright persistent context on Chromium with a fresh ``--user-data-dir``."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="imbalance-lab-bench-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                        args=CHROMIUM_ARGS, viewport=VIEWPORT, timeout=TIMEOUT_MS)
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


def script_done(page) -> None:
    """Streamlit is connected, its script run has finished, nothing is still a placeholder."""
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached")
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached")
    page.locator("[data-testid='stSkeleton']").first.wait_for(state="detached")


def plotly_bars(count: int) -> Callable:
    """Ready when the main area holds ``count`` plotly charts, each visible with its bars drawn into the SVG."""
    def ready(page) -> None:
        charts = page.locator("[data-testid='stMain'] .js-plotly-plot")
        for i in range(count):
            charts.nth(i).locator(".main-svg").first.wait_for(state="visible")
            charts.nth(i).locator(".barlayer .point").first.wait_for(state="attached")
    return ready


def leaderboard(page) -> None:
    """Ready when the Compare page's leaderboard table (an HTML table, with its verdict above) is visible."""
    page.locator("[data-testid='stMain'] table.leaderboard td").first.wait_for(state="visible")


def settled(page) -> None:
    """For pages without a fixed landmark: let a first rerun begin, then wait for it to end."""
    page.wait_for_timeout(250)


@dataclass(frozen=True)
class Target:
    name: str
    path: str  # URL path and query, after the base URL
    ready: Callable


@dataclass(frozen=True)
class Load:
    target: str
    ms: float
    errors: int  # exception boxes shown by the page


def full_render(context, base_url: str, target: Target) -> Load:
    """Time one full render of ``target`` in a new tab."""
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(f"{base_url}/{target.path}", wait_until="commit")
        target.ready(page)
        script_done(page)
        elapsed = (time.perf_counter() - started) * 1000.0
        errors = page.locator("[data-testid='stException']").count()
    finally:
        page.close()
    return Load(target.name, elapsed, errors)


def navigate(page, link: str, path: str, target: Target) -> Load:
    """Time one in-app page switch: click ``link`` in the sidebar of an open
    tab, then wait for the new page's URL, its content, the end of the script
    run and the removal of the previous page's (stale) elements."""
    started = time.perf_counter()
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=re.compile(rf"^\W*{re.escape(link)}\W*$")).first.click()
    page.wait_for_url(re.compile(rf"/{re.escape(path)}(\?|$)"))
    target.ready(page)
    script_done(page)
    page.locator("[data-stale='true']").first.wait_for(state="detached")
    elapsed = (time.perf_counter() - started) * 1000.0
    return Load(target.name, elapsed, page.locator("[data-testid='stException']").count())
