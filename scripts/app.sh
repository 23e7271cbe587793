#!/usr/bin/env bash
# Sets everything up on a fresh machine and runs the app on its built-in defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "unsup: starting the app on http://localhost:8501 (Ctrl+C stops it)…"
exec .venv/bin/python -m unsup.serve --server.headless true \
  --browser.gatherUsageStats false "$@"
