# shellcheck shell=bash
# Installs vLLM in a virtual environment and its service (idempotent). Environment:
#   PHOENIX_VLLM_VERSION  the vllm version pip installs (only when another is there)
#   PHOENIX_VLLM_VENV     the virtual environment
#   PHOENIX_VLLM_HOME     the service's home and Hugging Face cache
# Staged beside this script: vllm.service (the rendered unit; absent without a
# model) and vllm.env (mode 0600: HF_TOKEN; absent without a token).
# The service restarts only when its unit or environment file changed.
# shellcheck source=lib.sh
. "$PHOENIX_RUN_DIR/lib.sh"
VENV="$PHOENIX_VLLM_VENV"
UNIT=/etc/systemd/system/vllm.service
ENV_FILE=/etc/phoenix/vllm.env

have=$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('vllm'))" 2>/dev/null || true)
if [ "$have" != "$PHOENIX_VLLM_VERSION" ]; then
  apt_install python3 python3-venv python3-dev build-essential
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  log "installing vllm==$PHOENIX_VLLM_VERSION (was: ${have:-none})"
  "$VENV/bin/pip" install --no-cache-dir --upgrade pip
  "$VENV/bin/pip" install --no-cache-dir "vllm==$PHOENIX_VLLM_VERSION"
fi

if ! getent passwd vllm >/dev/null; then
  useradd --system --user-group --home-dir "$PHOENIX_VLLM_HOME" --shell /usr/sbin/nologin vllm
fi
install -d -o vllm -g vllm -m 0750 "$PHOENIX_VLLM_HOME"

if [ ! -f "$PHOENIX_RUN_DIR/vllm.service" ]; then
  log "no model configured: the virtual environment only"
  exit 0
fi

changed=0
if install_changed "$PHOENIX_RUN_DIR/vllm.service" "$UNIT" 0644; then
  changed=1
fi
if [ -f "$PHOENIX_RUN_DIR/vllm.env" ]; then
  install -d -m 0700 "$(dirname "$ENV_FILE")"
  if install_changed "$PHOENIX_RUN_DIR/vllm.env" "$ENV_FILE" 0600; then
    changed=1
  fi
elif [ -e "$ENV_FILE" ]; then
  rm -f "$ENV_FILE"
  changed=1
fi
unit_up vllm.service "$changed"
