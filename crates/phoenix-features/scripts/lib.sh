# shellcheck shell=bash
# phoenix's helper for feature scripts, sourced first by every one of them.
# The script runs as `bash -euo pipefail <script>` from its staging directory
# ($PHOENIX_RUN_DIR), with an explicit environment (no variable of phoenix's own).

# Secrets arrive in a file of mode 0600, never in argv.
if [ -f "$PHOENIX_RUN_DIR/secrets.env" ]; then
  # shellcheck disable=SC1091
  . "$PHOENIX_RUN_DIR/secrets.env"
fi

# Where phoenix keeps its state inside the container (a test points it elsewhere).
PHOENIX_STATE_DIR="${PHOENIX_STATE_DIR:-/var/lib/phoenix}"

log() {
  printf '%s\n' "$*"
}

# Installs the Debian packages not installed yet; prints nothing when all are.
apt_install() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  log "installing ${missing[*]}"
  local stamp="$PHOENIX_STATE_DIR/apt-updated"
  if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +60 2>/dev/null)" ]; then
    # One retry: a mirror or DNS hiccup right after boot is not worth a failed run.
    apt-get update -q || { sleep 3; apt-get update -q; }
    mkdir -p "$PHOENIX_STATE_DIR"
    touch "$stamp"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}
