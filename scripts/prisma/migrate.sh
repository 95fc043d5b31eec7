#!/usr/bin/env bash
# Runs Prisma CLI commands offline, with the schema engine replaced by scripts/prisma/schema-engine.mjs
# (Prisma's wasm schema engine + @prisma/adapter-pg). See docs/MIGRATIONS.md.
#
#   scripts/prisma/migrate.sh deploy|dev|status|diff|reset|resolve|generate|version|prisma [args…]
#
# DATABASE_URL (and optionally SHADOW_DATABASE_URL) are read by prisma.config.ts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

ENGINE="$ROOT/scripts/prisma/schema-engine.mjs"
[ -x "$ENGINE" ] || chmod +x "$ENGINE" 2>/dev/null || true

if [ ! -d node_modules/prisma ] || [ ! -d node_modules/@prisma/schema-engine-wasm ]; then
  echo "migrate.sh: node_modules is missing prisma or @prisma/schema-engine-wasm; run 'npm ci' first." >&2
  exit 1
fi

export PRISMA_SCHEMA_ENGINE_BINARY="$ENGINE"
export PRISMA_HIDE_UPDATE_MESSAGE=1
export PRISMA_HIDE_PREVIEW_FLAG_WARNINGS=1
export CHECKPOINT_DISABLE=1
export PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING=1
unset PRISMA_MIGRATION_ENGINE_BINARY

PRISMA=(node "$ROOT/node_modules/prisma/build/index.js")

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  deploy|dev|status|diff|reset|resolve)
    exec "${PRISMA[@]}" migrate "$cmd" "$@" ;;
  generate)
    exec "${PRISMA[@]}" generate "$@" ;;
  push)
    exec "${PRISMA[@]}" db push "$@" ;;
  pull)
    exec "${PRISMA[@]}" db pull "$@" ;;
  version)
    exec "${PRISMA[@]}" version "$@" ;;
  prisma)
    exec "${PRISMA[@]}" "$@" ;;
  *)
    echo "usage: $0 deploy|dev|status|diff|reset|resolve|generate|push|pull|version|prisma [args…]" >&2
    exit 2 ;;
esac
