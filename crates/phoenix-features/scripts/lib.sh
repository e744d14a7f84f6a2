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

# Installs the staged file $1 as $2 with mode $3 when their contents differ; succeeds
# only when it installed (so `if install_changed ...; then changed=1; fi`).
install_changed() {
  if cmp -s "$1" "$2"; then
    return 1
  fi
  install -m "$3" "$1" "$2"
}

# Brings the systemd unit $1 up after its files were installed: reloads systemd,
# enables it, restarts it when $2 is 1 (its files changed), else starts it when it is
# not running.
unit_up() {
  systemctl daemon-reload
  systemctl enable "$1" >/dev/null 2>&1
  if [ "$2" = 1 ]; then
    log "$1 changed: restarting"
    systemctl restart "$1"
  elif ! systemctl is-active --quiet "$1"; then
    systemctl start "$1"
  fi
}
