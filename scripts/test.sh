#!/usr/bin/env bash
# Install everything the tests need (idempotent) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_env.sh requirements-dev.txt
packages="chromium chromium-driver fonts-noto-color-emoji"  # the emoji font only makes screenshots readable
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    if ! dpkg -s $packages >/dev/null 2>&1; then
        echo "installing Debian packages $packages for the browser tests" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq $packages >/dev/null
    fi
elif ! command -v chromium >/dev/null 2>&1; then
    echo "The browser tests need Chromium, and installing it needs root. Install it, then run this again:" >&2
    echo "    sudo apt-get install -y $packages" >&2
    exit 1
fi
export IMBALANCE_LAB_NO_AUTOSTART=1
# Two test processes, a test file each at a time (files share module fixtures): the suite waits on worker,
# app and browser processes much of its time. IMBALANCE_LAB_TEST_PROCESSES=0 runs it in one process.
exec .venv/bin/python -m pytest -n "${IMBALANCE_LAB_TEST_PROCESSES:-2}" --dist loadfile "$@"
