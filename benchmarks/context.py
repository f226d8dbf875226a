"""What every section gets: the configuration, the paths, fresh temporary
workspaces for timing, the persistent benchmark workspace, and a logger."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from benchmarks.config import Config
from core.jobs.store import Store


@dataclass
class Context:
    config: Config
    out: Path  # BENCHMARKS.md here, results.json and figures under out/benchmarks/
    datasets: Path
    workspace: Path  # the persistent, resumable benchmark workspace (quality)
    scratch: Path  # temporary folder of this invocation: fresh workspaces, logs, job files
    measured: dict = field(default_factory=dict)  # timings a later section of this invocation may reuse (--quick)

    @property
    def datasets_dir(self) -> str:
        return str(self.datasets)

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def logs(self, name: str) -> Path:
        path = self.scratch / "logs" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @contextmanager
    def fresh_store(self, name: str) -> Iterator[Store]:
        """A new, empty workspace (timing sections: nothing can be served from an earlier run), removed after."""
        root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.scratch)) / "workspace"
        try:
            yield Store(root)
        finally:
            shutil.rmtree(root.parent, ignore_errors=True)

    def persistent_store(self) -> Store:
        return Store(self.workspace)
