#!/usr/bin/env bash
# Quickstart line 1: bring the stack up, start the API and both workers, and run
# a real end-to-end demo (two seed versions of one keyring).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/stack/up.sh
bash scripts/prisma/migrate.sh generate >/dev/null
bash scripts/app.sh up
node --import tsx scripts/demo.ts "$@"
