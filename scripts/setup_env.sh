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
# The requirements file and every file it includes with `-r` (requirements-dev.txt includes the Ray extra):
# a change to any of them reinstalls.
with_includes() {
    echo "$1"
    local included
    for included in $(sed -n 's/^[[:space:]]*-r[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$1" 2>/dev/null); do
        if [ "$(dirname "$1")" = . ]; then with_includes "$included"; else with_includes "$(dirname "$1")/$included"; fi
    done
}
stamp=".venv/.installed-$(basename "$req")"
digest=$(with_includes "$req" | sort -u | xargs cat 2>/dev/null | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    echo "installing $req into .venv (first time: about a minute)" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip >&2
    .venv/bin/python -m pip install --quiet -r "$req" >&2
    echo "$digest" > "$stamp"
fi
