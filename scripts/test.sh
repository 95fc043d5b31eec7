#!/usr/bin/env bash
# Quickstart line 2 and CI: bring the stack up (idempotent), type-check, run
# every jest test against it, and end with the plain summary "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p .cache
bash scripts/stack/up.sh || { echo "stack failed to come up; see .cache/logs/"; echo "0 passed, 1 failed"; exit 1; }
bash scripts/prisma/migrate.sh generate >/dev/null || { echo "prisma generate failed"; echo "0 passed, 1 failed"; exit 1; }

rc=0
static_failures=0   # type-check and lint count as failed checks in the summary line
echo "[test] type-checking"
npx tsc --noEmit -p . || { echo "[test] type errors (see above)"; rc=1; static_failures=$((static_failures + 1)); }
echo "[test] lint"
npx eslint . || { echo "[test] lint errors (see above)"; rc=1; static_failures=$((static_failures + 1)); }

results=.cache/jest-results.json
rm -f "$results"
npx jest --json --outputFile="$results" "$@" || rc=1
node scripts/jest-summary.cjs "$results" "$static_failures" || rc=1
exit $rc
