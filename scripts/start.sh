#!/usr/bin/env bash
# Install (idempotent) and start Imbalance Lab on http://localhost:8501.
# --read-only serves the workspace for viewing (IMBALANCE_LAB_READ_ONLY=1, for the app only: it starts no worker);
# every other argument goes to `streamlit run` (through scripts/serve.py).
set -euo pipefail
cd "$(dirname "$0")/.."
streamlit_args=()
mode=""
for arg in "$@"; do
    if [ "$arg" = "--read-only" ]; then
        export IMBALANCE_LAB_READ_ONLY=1
        mode=" read-only"
    else
        streamlit_args+=("$arg")
    fi
done
./scripts/setup_env.sh requirements.txt
# Streamlit's upload limit is core's cap, IMBALANCE_LAB_MAX_UPLOAD_MB included (one number, core/settings.py).
upload_mb=$(.venv/bin/python -c 'from core.settings import get_settings; print(get_settings().max_upload_mb)')
echo "starting Imbalance Lab${mode} on http://localhost:${PORT:-8501} (Ctrl+C to stop)" >&2
exec .venv/bin/python scripts/serve.py --server.port "${PORT:-8501}" --server.maxUploadSize "$upload_mb" \
    ${streamlit_args[@]+"${streamlit_args[@]}"}
