"""Opening one page of the app in ``streamlit.testing.v1.AppTest``, shared by the page tests."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def page_app(page: str) -> AppTest:
    """The page, not yet run, opened from app.py with ``switch_page`` (as
    AppTest's docs prescribe for st.navigation apps). Switching before the
    first run keeps the default Data page from running (it would register the
    sample dataset in an empty workspace)."""
    return AppTest.from_file(APP, default_timeout=60).switch_page(page)


def through_app(page: str) -> AppTest:
    """The page after app.py has run once, so navigation and the sidebar run
    around it (and a new workspace has registered the built-in sample)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page)
    at.run()
    return at


def by_label(elements, label: str):
    return next(e for e in elements if e.label == label)


def texts_of(elements) -> str:
    return "\n".join(str(e.value) for e in elements)
