#!/usr/bin/env bash
# Create .venv if missing and install a requirements file into it, skipping
# the install when that file has not changed since the last successful one.
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Imbalance Lab needs Python 3.11 or newer ($python_bin is $("$python_bin" --version 2>&1))." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "creating virtual environment in .venv" >&2
    "$python_bin" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$req")"
digest=$(cat "$req" requirements.txt 2>/dev/null | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    echo "installing $req into .venv (first time: about a minute)" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip >&2
    .venv/bin/python -m pip install --quiet -r "$req" >&2
    echo "$digest" > "$stamp"
fi
