#!/usr/bin/env bash
# Container entrypoint: `api`, `hsm-worker`, `token-worker` or `migrate`.
set -euo pipefail
cd /app
# SoftHSM token shared by both workers through the hsm-tokens volume.
if [[ "${PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}" == *softhsm* ]]; then
  export SOFTHSM2_CONF="${SOFTHSM2_CONF:-/var/lib/softhsm/softhsm2.conf}"
  mkdir -p /var/lib/softhsm/tokens
  [[ -f "$SOFTHSM2_CONF" ]] || printf 'directories.tokendir = /var/lib/softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' > "$SOFTHSM2_CONF"
  if ! softhsm2-util --show-slots | grep -q "Label:.*${HSM_TOKEN_LABEL:-saludtech}"; then
    softhsm2-util --init-token --free --label "${HSM_TOKEN_LABEL:-saludtech}" --so-pin "${HSM_SO_PIN:?set HSM_SO_PIN}" --pin "${HSM_PIN:?set HSM_PIN}" >/dev/null
  fi
fi
case "${1:-api}" in
  api) exec node dist/api/main.js ;;
  hsm-worker) exec node dist/workers/hsmWorker.js ;;
  token-worker) exec node dist/workers/tokenWorker.js ;;
  migrate) exec bash scripts/prisma/migrate.sh deploy ;;
  *) exec "$@" ;;
esac
