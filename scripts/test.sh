#!/usr/bin/env bash
# The whole test suite: SQLite always, then PostgreSQL when a server answers.
# In CI (CI=true) a PostgreSQL run that cannot happen is a failure, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL=${KELAMBU_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
export KELAMBU_DATA_DIR=${KELAMBU_DATA_DIR:-$(mktemp -d)}
export KELAMBU_IMPORT_IN_BACKGROUND=false

$BIN/python -c "from kelambu.web.i18n import compile_messages; compile_messages()"

echo "== Tests on SQLite =="
env -u KELAMBU_DATABASE_URL -u DATABASE_URL $BIN/pytest "$@"

if $BIN/python - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1].replace("postgresql://", "postgresql://", 1), connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL does not answer at {sys.argv[1]}: {exc}")
    sys.exit(1)
PY
then
  echo "== Tests on PostgreSQL =="
  KELAMBU_DATABASE_URL="$PG_URL" $BIN/pytest "$@"
else
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: the PostgreSQL run was skipped in CI"
    exit 1
  fi
  echo "SKIPPED: the PostgreSQL run (no server answered)"
fi
