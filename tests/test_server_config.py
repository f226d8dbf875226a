"""How the app's server is started: ``.streamlit/config.toml`` and ``scripts/start.sh``.

The upload limit is one number (core's cap, ``core/settings.py``), and the server runs without a file watcher."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def default_cap() -> int:
    """core's upload cap when no environment variable sets it."""
    return next(f.default for f in fields(Settings) if f.name == "max_upload_mb")


def test_streamlits_upload_limit_is_cores_default_cap():
    assert CONFIG["server"]["maxUploadSize"] == default_cap()


def test_the_server_watches_no_files():
    assert CONFIG["server"]["fileWatcherType"] == "none"
    assert CONFIG["server"]["runOnSave"] is False


def test_start_sh_passes_the_cap_the_environment_sets_to_streamlit(tmp_path):
    """start.sh run in a copy of the project whose setup does nothing and whose ``.venv/bin/python`` runs
    ``-c`` with the real interpreter and prints the arguments of anything else (the Streamlit command)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "start.sh", tmp_path / "scripts" / "start.sh")
    (tmp_path / "scripts" / "setup_env.sh").write_text("#!/usr/bin/env bash\n")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/usr/bin/env bash\n'
                      f'if [ "$1" = -c ]; then PYTHONPATH="{ROOT}" exec "{sys.executable}" "$@"; fi\n'
                      'printf "%s\\n" "$@"\n')
    for script in (tmp_path / "scripts" / "setup_env.sh", python):
        script.chmod(0o755)
    env = {**os.environ, "IMBALANCE_LAB_MAX_UPLOAD_MB": "7", "PORT": "8765"}
    result = subprocess.run(["bash", str(tmp_path / "scripts" / "start.sh")], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    args = result.stdout.split("\n")
    assert args[:1] == ["scripts/serve.py"]
    assert args[args.index("--server.maxUploadSize") + 1] == "7"
