#!/usr/bin/env bash
# Install (first time only) and run the whole app with embedded engines: the README's run command.
# Options go to scripts/run.py (--demo-model, --index-limit N, --no-ui, --no-worker, --strict-model,
# --verbose).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python -m scripts.run "$@"
