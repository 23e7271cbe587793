#!/usr/bin/env bash
# Creates .venv and installs the exact pins of requirements.txt (idempotent: quick when done).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "unsup: creating the virtual environment .venv (first run only)…"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "unsup: installing the pinned packages of requirements.txt into .venv"
  echo "       (torch, streamlit, umap-learn, …: the first run takes a few minutes; later runs skip this)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -r requirements.txt
  echo "$want" > "$stamp"
  echo "unsup: packages installed."
fi
