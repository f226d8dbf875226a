#!/usr/bin/env bash
# Install everything the tests need (idempotent) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_env.sh requirements-dev.txt
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Debian packages chromium and chromium-driver for the browser tests" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "The browser tests need Chromium. Install it, then run this again:" >&2
        echo "    sudo apt-get install -y chromium chromium-driver" >&2
        exit 1
    fi
fi
export IMBALANCE_LAB_NO_AUTOSTART=1
exec .venv/bin/python -m pytest "$@"
