# shellcheck shell=bash
# Installs Ollama and its service (idempotent). Environment:
#   PHOENIX_OLLAMA_URL      the official tarball (.tgz, .tar.zst: extracted under /usr)
#                           or install script (.sh: run with sh)
#   PHOENIX_OLLAMA_VERSION  the version `ollama --version` must report (empty: any)
#   PHOENIX_OLLAMA_MODELS   OLLAMA_MODELS, made and owned by ollama (empty: the default)
# Staged beside this script: ollama.service (the unit) and phoenix.conf (the drop-in
# with the OLLAMA_* settings). The service restarts only when either changed.
# shellcheck source=lib.sh
. "$PHOENIX_RUN_DIR/lib.sh"
BIN=/usr/bin/ollama
UNIT=/etc/systemd/system/ollama.service
DROPIN=/etc/systemd/system/ollama.service.d/phoenix.conf

need=1
if [ -x "$BIN" ]; then
  if [ -z "$PHOENIX_OLLAMA_VERSION" ] || "$BIN" --version 2>/dev/null | grep -qF "$PHOENIX_OLLAMA_VERSION"; then
    need=0
  fi
fi
if [ "$need" = 1 ]; then
  apt_install ca-certificates curl
  case "$PHOENIX_OLLAMA_URL" in
    *.sh)
      curl -fsSL "$PHOENIX_OLLAMA_URL" -o "$PHOENIX_RUN_DIR/install.sh"
      if [ -n "$PHOENIX_OLLAMA_VERSION" ]; then
        OLLAMA_VERSION="$PHOENIX_OLLAMA_VERSION" sh "$PHOENIX_RUN_DIR/install.sh"
      else
        sh "$PHOENIX_RUN_DIR/install.sh"
      fi
      ;;
    *)
      case "$PHOENIX_OLLAMA_URL" in
        *.zst*) apt_install zstd ;;
      esac
      log "downloading $PHOENIX_OLLAMA_URL"
      curl -fsSL "$PHOENIX_OLLAMA_URL" -o "$PHOENIX_RUN_DIR/ollama.tar"
      tar -C /usr -xf "$PHOENIX_RUN_DIR/ollama.tar"
      rm -f "$PHOENIX_RUN_DIR/ollama.tar"
      ;;
  esac
fi

if ! getent passwd ollama >/dev/null; then
  useradd --system --user-group --create-home --home-dir /usr/share/ollama --shell /bin/false ollama
fi

if [ -n "$PHOENIX_OLLAMA_MODELS" ]; then
  install -d -o ollama -g ollama -m 0755 "$PHOENIX_OLLAMA_MODELS"
fi

changed=0
if install_changed "$PHOENIX_RUN_DIR/ollama.service" "$UNIT" 0644; then
  changed=1
fi
install -d -m 0755 "$(dirname "$DROPIN")"
if install_changed "$PHOENIX_RUN_DIR/phoenix.conf" "$DROPIN" 0644; then
  changed=1
fi
unit_up ollama.service "$changed"
