"""``scripts/setup_env.sh`` installs a requirements file again only when it,
or a file it includes with ``-r`` (the test command's requirements-dev.txt
includes the Ray extra), has changed since the last install."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
# Stands in for the virtual environment's python: it records the pip commands it is given.
FAKE_PYTHON = '#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls"\n'


def test_a_change_to_an_included_requirements_file_reinstalls(tmp_path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(PROJECT / "scripts" / "setup_env.sh", tmp_path / "scripts")
    (tmp_path / "requirements.txt").write_text("numpy==2.4.6\n")
    (tmp_path / "requirements-ray.txt").write_text("-r requirements.txt\nray==2.60.0\n")
    (tmp_path / "requirements-dev.txt").write_text("-r requirements.txt\n-r requirements-ray.txt\npytest==9.2.0\n")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)

    def installs() -> int:
        subprocess.run(["bash", str(tmp_path / "scripts" / "setup_env.sh"), "requirements-dev.txt"], check=True,
                       env={**os.environ, "PYTHON": sys.executable}, capture_output=True, timeout=60)
        calls = (python.parent / "calls").read_text().splitlines()
        return calls.count("-m pip install --quiet -r requirements-dev.txt")

    assert installs() == 1
    assert installs() == 1  # nothing changed
    (tmp_path / "requirements-ray.txt").write_text("-r requirements.txt\nray==2.61.0\n")
    assert installs() == 2
    (tmp_path / "requirements.txt").write_text("numpy==2.4.7\n")
    assert installs() == 3
