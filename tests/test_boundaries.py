"""The TensorFlow boundary and the import layers, checked two ways.

Static: every ``.py`` in ``core/``, ``pages/`` and ``app.py`` is parsed with
``ast``; every import (module level, inside functions and methods, relative
ones resolved) is an edge, and the edges are followed through project modules.
Only ``core.keras`` and the worker-side entry points may reach TensorFlow,
only ``core.keras`` may import it directly, and a module's folder tells which
project modules it may import (``MAY_IMPORT``).

Runtime: a fresh interpreter opens every page of the app on a filled workspace
and builds every export, then TensorFlow must not be in ``sys.modules``.

Both checks first show that they can fail (a synthetic package with a hidden
Keras import; a subprocess that does import ``core.keras.models``)."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("core", "pages", "app.py")
TENSORFLOW = ("tensorflow", "keras")  # and their submodules
RAY = ("ray",)  # an optional extra, for the worker only (core.jobs.ray_executor)


# ----- the rules -----
class Rule(NamedTuple):
    may: tuple[str, ...]  # project modules it may import; a name covers the module and everything below it
    but_not: tuple[str, ...] = ()  # exceptions among those


# Worker-side entry points: the only modules outside core.keras that may reach
# TensorFlow (through core.keras, never directly).
ENTRY_POINTS = ("core.jobs.runner", "core.jobs.training", "core.jobs.slot", "core.jobs.local_executor",
                "core.jobs.ray_executor", "core.jobs.worker", "core.jobs.predict_service", "core.cli",
                "core.__main__", "core.worker")
TF_SIDE = ("core.keras",) + ENTRY_POINTS
BASE = ("core.data", "core.errors", "core.settings", "core.files")
JOBS = BASE + ("core.runs", "core.strategies", "core.jobs")

# A module's folder tells what it may import. The most specific key applies
# (``core.jobs.runner`` before ``core.jobs`` before ``core``).
MAY_IMPORT: dict[str, Rule] = {
    "core": Rule(()),  # the package itself (and any new top-level module until it gets its own rule)
    "core.errors": Rule(()),
    "core.settings": Rule(("core.errors",)),
    "core.files": Rule(("core.errors", "core.settings")),
    "core.data": Rule(BASE),
    "core.runs": Rule(BASE + ("core.runs",)),
    "core.strategies": Rule(BASE + ("core.runs", "core.strategies")),
    "core.keras": Rule(BASE + ("core.runs", "core.strategies", "core.keras")),
    "core.jobs": Rule(JOBS),
    "core.jobs.runner": Rule(JOBS),  # the worker's side of a run: no Keras
    "core.jobs.training": Rule(JOBS + ("core.keras",)),  # the executor's side
    "core.jobs.slot": Rule(JOBS + ("core.keras",)),
    "core.jobs.ray_executor": Rule(JOBS + ("core.keras",)),
    "core.jobs.worker": Rule(JOBS),
    "core.jobs.predict_service": Rule(JOBS + ("core.keras",)),
    "core.results": Rule(JOBS + ("core.results",), but_not=ENTRY_POINTS),
    "core.cli": Rule(("core",)),
    "core.__main__": Rule(("core",)),
    "core.worker": Rule(("core",)),
    "pages": Rule(("core", "pages"), but_not=TF_SIDE),
    "app": Rule(("core", "pages"), but_not=TF_SIDE),
}


def under(module: str, names: tuple[str, ...]) -> bool:
    return any(module == n or module.startswith(n + ".") for n in names)


def rule_for(module: str) -> tuple[str, Rule]:
    key = max((k for k in MAY_IMPORT if under(module, (k,))), key=len)
    return key, MAY_IMPORT[key]


def is_tensorflow(name: str) -> bool:
    return name.split(".")[0] in TENSORFLOW


# ----- the import graph -----
@dataclass(frozen=True)
class Import:
    target: str  # a project module, or the external module as written ("keras.layers")
    line: int


@dataclass(frozen=True)
class Graph:
    root: Path
    files: dict[str, Path]  # project module -> its file
    imports: dict[str, tuple[Import, ...]]  # every import of each project module
    dynamic: tuple[str, ...]  # "file:line" of imports by a computed name (the walker cannot follow them)

    def project(self, name: str) -> bool:
        return name.split(".")[0] in {m.split(".")[0] for m in self.files}

    def where(self, module: str, line: int) -> str:
        return f"{self.files[module].relative_to(self.root).as_posix()}:{line}"

    def unresolved(self) -> list[str]:
        """Imports of project modules that do not exist (the walker would miss what they import)."""
        return [f"{self.where(m, i.line)} imports {i.target}" for m, imports in self.imports.items() for i in imports
                if self.project(i.target) and i.target not in self.files]

    def edges(self, module: str) -> list[str]:
        """What importing ``module`` imports: project modules with the packages
        above them (their ``__init__`` runs too), and TensorFlow as its top name."""
        out = []
        for i in self.imports[module]:
            if i.target.split(".")[0] in TENSORFLOW + RAY:
                out.append(i.target.split(".")[0])
            elif i.target in self.files:
                parts = i.target.split(".")
                out += [p for p in (".".join(parts[:k]) for k in range(1, len(parts) + 1)) if p in self.files]
        return list(dict.fromkeys(out))

    def chains_to_tensorflow(self, targets: tuple[str, ...] = TENSORFLOW) -> dict[str, str]:
        """Every project module that reaches TensorFlow (or ``targets``), with its shortest import
        chain, e.g. ``pages.predict -> core.jobs.predict_service -> keras``."""
        importers: dict[str, list[str]] = {}
        for module in sorted(self.files):
            for target in self.edges(module):
                importers.setdefault(target, []).append(module)
        next_hop: dict[str, str] = {}
        queue = deque(t for t in targets if t in importers)
        while queue:  # breadth first from TensorFlow backwards: shortest chains
            target = queue.popleft()
            for module in importers.get(target, ()):
                if module not in next_hop:
                    next_hop[module] = target
                    queue.append(module)
        chains = {}
        for module in next_hop:
            chain, at = [module], module
            while at in next_hop:
                at = next_hop[at]
                chain.append(at)
            chains[module] = " -> ".join(chain)
        return chains


def module_name(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def read_imports(module: str, file: Path, known: set[str]) -> tuple[list[Import], list[int]]:
    """Every import statement anywhere in the file, and the lines of imports by a computed name."""
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    package = module if file.name == "__init__.py" else module.rpartition(".")[0]
    found, dynamic = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = ".".join(p for p in (anchor, node.module) if p)
            for alias in node.names:  # `from core.keras import train` imports the module core.keras.train
                found.append(Import(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base, node.lineno))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("__import__", "import_module"):
                dynamic.append(node.lineno)
    return found, dynamic


def build_graph(root: Path, sources: tuple[str, ...] = SOURCES) -> Graph:
    files: dict[str, Path] = {}
    for source in sources:
        path = root / source
        for file in [path] if path.suffix == ".py" else sorted(path.rglob("*.py")):
            files[module_name(root, file)] = file
    imports, dynamic = {}, []
    for module, file in files.items():
        found, computed = read_imports(module, file, set(files))
        imports[module] = tuple(found)
        dynamic += [f"{file.relative_to(root).as_posix()}:{line}" for line in computed]
    return Graph(root, files, imports, tuple(dynamic))


@lru_cache(maxsize=1)
def project_graph() -> Graph:
    return build_graph(ROOT)


# ----- what the tests assert -----
def tensorflow_reach_violations(graph: Graph) -> dict[str, str]:
    """Modules that reach TensorFlow but are neither in core.keras nor entry points -> their chain."""
    return {m: chain for m, chain in graph.chains_to_tensorflow().items()
            if not under(m, ("core.keras",)) and m not in ENTRY_POINTS}


def direct_tensorflow_imports(graph: Graph) -> list[str]:
    return [f"{graph.where(m, i.line)}: {m} imports {i.target}" for m, imports in sorted(graph.imports.items())
            if not under(m, ("core.keras",)) for i in imports if is_tensorflow(i.target)]


def layer_violations(graph: Graph) -> list[str]:
    found = []
    for module, imports in sorted(graph.imports.items()):
        key, rule = rule_for(module)
        for i in imports:
            if graph.project(i.target) and (not under(i.target, rule.may) or under(i.target, rule.but_not)):
                found.append(f"{graph.where(module, i.line)}: {module} imports {i.target}; rule {key!r} allows "
                             f"{', '.join(rule.may) or 'no project module'}"
                             + (f" but not {', '.join(rule.but_not)}" if rule.but_not else ""))
    return found


def test_the_walker_sees_every_import_of_the_project():
    graph = project_graph()
    assert len(graph.files) > 50
    assert {"app", "pages.predict", "core.keras.train", "core.jobs.runner"} <= set(graph.files)
    assert not graph.unresolved(), "imports of project modules that do not exist:\n" + "\n".join(graph.unresolved())
    assert not graph.dynamic, ("imports by a computed name, which this test cannot follow — import by name instead:\n"
                               + "\n".join(graph.dynamic))


def test_only_core_keras_and_the_worker_side_entry_points_reach_tensorflow():
    graph = project_graph()
    chains = graph.chains_to_tensorflow()
    # the walker follows imports inside functions on the real code too: these import core.keras lazily
    assert chains["core.jobs.training"].startswith("core.jobs.training -> core.keras."), chains.get("core.jobs.training")
    assert "core.jobs.predict_service" in chains and "core.keras.models" in chains
    violations = tensorflow_reach_violations(graph)
    assert not violations, "modules that reach TensorFlow outside core.keras and the worker-side entry points:\n" \
        + "\n".join(sorted(violations.values()))


def test_only_the_worker_reaches_ray():
    """Ray is an optional extra: the app, the pages and every module they import stay free of it."""
    chains = project_graph().chains_to_tensorflow(RAY)
    assert chains["core.jobs.ray_executor"] == "core.jobs.ray_executor -> ray"
    assert "core.jobs.worker" in chains and "core.jobs.executors" not in chains
    outside = sorted(chain for module, chain in chains.items() if module not in ENTRY_POINTS)
    assert not outside, "modules outside the worker-side entry points that reach Ray:\n" + "\n".join(outside)


def test_only_core_keras_imports_tensorflow_directly():
    found = direct_tensorflow_imports(project_graph())
    assert not found, "import TensorFlow only in core.keras (entry points reach it through core.keras):\n" \
        + "\n".join(found)


def test_a_modules_folder_tells_what_it_may_import():
    found = layer_violations(project_graph())
    assert not found, "imports across layers (see MAY_IMPORT):\n" + "\n".join(found)


SYNTHETIC = {
    "core/__init__.py": "",
    "core/errors.py": "",
    "core/keras/__init__.py": "",
    "core/keras/models.py": "import keras\n",
    "core/data/__init__.py": "",
    "core/data/loader.py": "class Loader:\n    def load(self):\n        from tensorflow import io\n        return io\n",
    "core/data/uses_jobs.py": "def later():\n    from core.jobs import store\n",
    "core/data/missing.py": "import core.data.gone\n",
    "core/runs/__init__.py": "",
    "core/runs/pipeline.py": "from ..data import loader\nfrom ..errors import *\n",
    "core/jobs/__init__.py": "",
    "core/jobs/training.py": "def train():\n    from core.keras import models\n",
    "core/jobs/store.py": "def worker_side():\n    from . import training\n",
    "core/results/__init__.py": "import importlib\nplugin = importlib.import_module('core.keras.models')\n",
    "pages/__init__.py": "",
    "pages/predict.py": "import streamlit\n\ndef show():\n    import core.jobs.store\n",
    "pages/run_now.py": "from core.jobs.training import train\n",
    "app.py": "from pages import predict\n",
}


def test_the_walker_catches_hidden_tensorflow_imports(tmp_path):
    """The static checks can fail: a synthetic project with TensorFlow imported
    inside a method, relative imports, and Keras reached lazily through a
    worker-side module."""
    for name, text in SYNTHETIC.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = build_graph(tmp_path)
    keras_chain = "core.jobs.training -> core.keras.models -> keras"
    assert tensorflow_reach_violations(graph) == {
        "core.data.loader": "core.data.loader -> tensorflow",
        "core.runs.pipeline": "core.runs.pipeline -> core.data.loader -> tensorflow",
        "core.jobs.store": f"core.jobs.store -> {keras_chain}",
        "core.data.uses_jobs": f"core.data.uses_jobs -> core.jobs.store -> {keras_chain}",
        "pages.predict": f"pages.predict -> core.jobs.store -> {keras_chain}",
        "pages.run_now": f"pages.run_now -> {keras_chain}",
        "app": f"app -> pages.predict -> core.jobs.store -> {keras_chain}",
    }
    assert direct_tensorflow_imports(graph) == ["core/data/loader.py:3: core.data.loader imports tensorflow"]
    assert [v.split(";")[0] for v in layer_violations(graph)] == [
        "core/data/uses_jobs.py:2: core.data.uses_jobs imports core.jobs.store",
        "pages/run_now.py:1: pages.run_now imports core.jobs.training",
    ]
    assert graph.unresolved() == ["core/data/missing.py:1 imports core.data.gone"]
    assert graph.dynamic == ("core/results/__init__.py:2",)


# ----- runtime: a fresh interpreter -----
# The pages as app.py lists them; Compare once per view (each reads other result files).
def app_pages() -> list[str]:
    pages = re.findall(r"st\.Page\(\s*[\"'](pages/[\w/]+\.py)[\"']", (ROOT / "app.py").read_text(encoding="utf-8"))
    assert len(pages) >= 7, pages
    return pages


COMPARE_VIEWS = ("Leaderboard", "Per class", "Confusion", "Curves")


def page_views() -> list[tuple[str, dict[str, str]]]:
    """``app.py`` itself first (its default page with the sidebar around it),
    then every page as app.py lists them."""
    return [("app.py", {})] + [
        (page, {"view": view}) if page == "pages/compare.py" else (page, {})
        for page in app_pages() for view in (COMPARE_VIEWS if page == "pages/compare.py" else (None,))]


def render(page: str, query: dict[str, str], *, clean: bool = True):
    """Open ``page`` through app.py's navigation (``"app.py"``: the app as a
    browser opens it) with these URL query params (``dataset``, ``experiment``,
    …) and run it once; ``clean``: assert that it raised nothing and showed no error."""
    from streamlit.testing.v1 import AppTest

    from tests.apptest_pages import APP, page_app

    at = AppTest.from_file(APP, default_timeout=60) if page == "app.py" else page_app(page)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if clean:
        assert not at.exception, f"{page} {query}: " + "\n".join(str(e.value) for e in at.exception)
        assert not at.error, f"{page} {query} shows errors: {[e.value for e in at.error]}"
    return at


MARKER = "TENSORFLOW-MODULES-LOADED "
PRELUDE = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
ARGS = json.loads(sys.argv[1])
"""
EPILOGUE = f"""
print({MARKER!r} + json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {TENSORFLOW!r})))
"""


def tensorflow_loaded_by(code: str, args: dict, env: dict[str, str] | None = None) -> list[str]:
    """Run ``code`` in a fresh interpreter (ARGS holds ``args``) and return the
    TensorFlow and Keras modules in its ``sys.modules`` at the end."""
    done = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code) + EPILOGUE, json.dumps(args)],
                          cwd=ROOT, env={**os.environ, "IMBALANCE_LAB_NO_AUTOSTART": "1", **(env or {})},
                          capture_output=True, text=True, timeout=400, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith(MARKER)]
    return json.loads(line[len(MARKER):])


EVERY_PAGE_AND_EXPORT = """
from tests.apptest_pages import by_label
from tests.test_boundaries import page_views, render

query = {"dataset": ARGS["dataset_id"], "experiment": str(ARGS["experiment_id"])}
for page, extra in page_views():
    at = render(page, {**query, **extra})
    if page == "pages/merge.py":
        by_label(at.multiselect, "Classes to merge").set_value(["bad", "ok"]).run()
        assert not at.exception and not at.error and at.dataframe, "the merge effect did not show"
    if page == "pages/report.py":
        assert [b.label for b in at.get("download_button")] == ["HTML report", "Metrics (CSV)", "Metrics (JSON)"]
    if page == "pages/predict.py":
        at = render(page, {**query, "prediction": str(ARGS["request_id"])})
        assert at.dataframe, "the answered prediction did not show"
        by_label(at.text_area, "One text per line").input("some text").run()
        by_label(at.button, "Predict").click().run()
        assert not at.exception and at.warning, "the page did not get as far as waiting for the worker"

from core.jobs.predictions import prediction_result
from core.jobs.store import Store
from core.results.report import (build_html_report, metrics_csv, metrics_json, prediction_texts, predictions_csv,
                                 predictions_long, predictions_wide)

store = Store(ARGS["root"])
assert "leaderboard" in build_html_report(store, ARGS["experiment_id"]).lower()
assert metrics_csv(store, ARGS["experiment_id"]).startswith("experiment_id,")
assert json.loads(metrics_json(store, ARGS["experiment_id"]))["runs"]
answers = prediction_result(store, ARGS["request_id"])["result"]
texts = prediction_texts(store, ARGS["request_id"])
assert len(predictions_long(texts, answers)) and len(predictions_wide(texts, answers))
assert predictions_csv(texts, answers).startswith("text")

# last: the Data page registers an uploaded dataset, which becomes the current one
at = render("pages/data.py", query)
at.radio[0].set_value("Upload a file").run()
at.file_uploader[0].upload("x.csv", ARGS["csv"].encode(), "text/csv")
at.run()
by_label(at.button, "Use this dataset").click().run()
assert not at.exception and at.subheader[0].value == "x.csv", [e.value for e in at.exception]
"""


def test_no_page_and_no_export_loads_tensorflow(filled_copy):
    """Replaces the one-page-per-interpreter checks of the page and report tests."""
    from core.jobs.predict_service import answer_request
    from core.jobs.predictions import request_prediction
    from core.jobs.store import Store

    store = Store(filled_copy["root"])
    request_id = request_prediction(store, filled_copy["experiment_id"], ["baseline"], ["lovely", "=1+2 awful"])
    answer_request(store, request_id, {})  # here: this interpreter has TensorFlow already
    rows = [f"text {label} number {i},{label}" for label, n in (("a", 10), ("b", 30)) for i in range(n)]
    args = {"root": str(filled_copy["root"]), "dataset_id": filled_copy["dataset_id"],
            "experiment_id": filled_copy["experiment_id"], "request_id": request_id,
            "csv": "review,sentiment\n" + "\n".join(rows) + "\n"}
    loaded = tensorflow_loaded_by(EVERY_PAGE_AND_EXPORT, args, {"IMBALANCE_LAB_WORKSPACE": str(filled_copy["root"])})
    assert loaded == []


def test_the_runtime_check_sees_tensorflow_when_it_is_loaded():
    assert "keras" in tensorflow_loaded_by("import core.keras.models", {})
