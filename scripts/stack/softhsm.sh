# SoftHSM2 token for the local PKCS#11 HSM. Sourced after lib.sh. No process to run.
# Functions: softhsm_install, softhsm_start, softhsm_stop, softhsm_status.

: "${PKCS11_MODULE:=/usr/lib/softhsm/libsofthsm2.so}"
SOFTHSM_HOME="$STACK_HOME/softhsm"
: "${SOFTHSM2_CONF:=$SOFTHSM_HOME/softhsm2.conf}"
export SOFTHSM2_CONF

_softhsm_token_exists() {
  SOFTHSM2_CONF="$SOFTHSM2_CONF" softhsm2-util --show-slots 2>/dev/null \
    | grep -Eq "^\s*Label:\s+${HSM_TOKEN_LABEL}\s*$"
}

softhsm_install() {
  if [[ ! -f /usr/lib/softhsm/libsofthsm2.so ]] || ! command -v softhsm2-util >/dev/null 2>&1; then
    apt_install softhsm2
    [[ -f /usr/lib/softhsm/libsofthsm2.so ]] || die "softhsm: libsofthsm2.so still missing after apt-get install softhsm2"
  fi
  mkdir -p "$SOFTHSM_HOME/tokens"
  chmod 700 "$SOFTHSM_HOME/tokens"
  if [[ "$SOFTHSM2_CONF" == "$SOFTHSM_HOME/softhsm2.conf" ]]; then
    cat > "$SOFTHSM2_CONF" <<EOF
# Written by scripts/stack/softhsm.sh
directories.tokendir = $SOFTHSM_HOME/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
  fi
}

# Creates the token when absent (its keys survive restarts; reset.sh removes it).
softhsm_start() {
  [[ -f "$SOFTHSM2_CONF" ]] || softhsm_install
  mkdir -p "$SOFTHSM_HOME/tokens"
  if _softhsm_token_exists; then
    log "softhsm: token '$HSM_TOKEN_LABEL' present"
    return 0
  fi
  log "softhsm: initialising token '$HSM_TOKEN_LABEL'"
  SOFTHSM2_CONF="$SOFTHSM2_CONF" softhsm2-util --init-token --free --label "$HSM_TOKEN_LABEL" \
    --so-pin "$HSM_SO_PIN" --pin "$HSM_PIN" >>"$LOG_DIR/softhsm.log" 2>&1 \
    || die "softhsm: token initialisation failed (see $LOG_DIR/softhsm.log)"
  _softhsm_token_exists || die "softhsm: token '$HSM_TOKEN_LABEL' not visible after initialisation"
}

softhsm_stop() { :; }

softhsm_status() {
  if [[ ! -f "$PKCS11_MODULE" ]]; then
    echo "softhsm: MISSING ($PKCS11_MODULE not installed)"; return 1
  fi
  if _softhsm_token_exists; then
    echo "softhsm: token '$HSM_TOKEN_LABEL' present (SOFTHSM2_CONF=$SOFTHSM2_CONF, module $PKCS11_MODULE)"
  else
    echo "softhsm: token '$HSM_TOKEN_LABEL' ABSENT (SOFTHSM2_CONF=$SOFTHSM2_CONF)"; return 1
  fi
}
