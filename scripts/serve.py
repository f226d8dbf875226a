"""Serve the app: ``streamlit run app.py`` with ``app.py``'s ``st.navigation`` as the only navigation from the
server's very first request. Arguments after the script's name go to ``streamlit run``.

Why not plain ``streamlit run app.py``: Streamlit marks an app with a ``pages/`` folder beside its entry point as a
"pages directory" app at start-up, and until some session has run the entry point (whose ``st.navigation`` call
clears that mark) it answers a deep link such as ``/runs`` by running ``pages/runs.py`` on its own — without the
app's sidebar, and with every file of ``pages/`` (``common.py`` too) listed as a page. A tab that reconnects to
``/runs`` after a restart, or a bookmark, got exactly that. The folder's name is fixed by the product's layout, so
the mark is cleared before the server starts (``tests/e2e/test_deep_links.py`` opens ``/runs`` first)."""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web.cli import main

APP = Path(__file__).resolve().parent.parent / "app.py"

if __name__ == "__main__":
    PagesManager.uses_pages_directory = False  # app.py's st.navigation is the navigation, first request included
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    main(prog_name="streamlit")
