"""One user's session for ``test_concurrency``, in a process of its own: open
the app, wait until every session is ready, upload a CSV of its own, use it,
tick a strategy and submit an experiment on it. Prints, as JSON, every message
the user was shown and every exception the page raised.

Usage: ``python tests/concurrent_session.py NAME GO_FILE`` with
``IMBALANCE_LAB_WORKSPACE`` set; ``NAME`` also seeds the texts, so each
session's dataset is distinct. The session creates ``GO_FILE.NAME.ready``
once it is ready to start, then waits for ``GO_FILE``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.apptest_pages import by_label  # noqa: E402

MESSAGE_KINDS = ("exception", "error", "warning", "info", "success", "toast")


def csv_for(name: str) -> bytes:
    rows = ["review,sentiment"]
    for label, n in (("bad", 12), ("ok", 24), ("good", 60)):
        rows += [f"{name} says {label} thing number {i},{label}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


def messages(at: AppTest, step: str, seen: list[dict]) -> None:
    for kind in MESSAGE_KINDS:
        for element in getattr(at, kind):
            seen.append({"step": step, "kind": kind, "text": str(element.value)})


def main(name: str, go_file: str) -> None:
    seen: list[dict] = []
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    Path(f"{go_file}.{name}.ready").touch()  # imported and set up: at the starting line
    deadline = time.monotonic() + 120
    while not Path(go_file).exists():  # every session starts its first page at the same moment
        if time.monotonic() > deadline:
            raise SystemExit("the go file never appeared")
        time.sleep(0.01)
    at.run()
    messages(at, "open", seen)
    by_label(at.radio, "Source").set_value("Upload a file").run()
    at.file_uploader[0].upload(f"{name}.csv", csv_for(name), "text/csv").run()
    messages(at, "upload", seen)
    by_label(at.button, "Use this dataset").click().run()
    messages(at, "use", seen)
    at.switch_page("pages/experiment.py").run()
    at.checkbox(key="use.class_weight").check().run()
    by_label(at.button, "Submit experiment").click().run()
    messages(at, "submit", seen)
    at.switch_page("pages/runs.py").run()
    messages(at, "runs", seen)
    print(json.dumps({"name": name, "seen": seen}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
