#!/usr/bin/env bash
# Install (idempotent) and start Imbalance Lab on http://localhost:8501.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_env.sh requirements.txt
echo "starting Imbalance Lab on http://localhost:${PORT:-8501} (Ctrl+C to stop)" >&2
exec .venv/bin/python -m streamlit run app.py --server.port "${PORT:-8501}" "$@"
