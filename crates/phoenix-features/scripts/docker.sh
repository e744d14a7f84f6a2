# shellcheck shell=bash
# Installs the Docker engine (idempotent). Environment:
#   PHOENIX_DOCKER_ENGINE   docker.io (Debian's) or docker-ce (Docker's apt repository)
#   PHOENIX_STORAGE_DRIVER  fuse-overlayfs or overlay2
# daemon.json is merged by phoenix itself, structurally, after this script.
# PHOENIX_ETC (default /etc) lets a test run the script against a scratch directory.
# shellcheck source=lib.sh
. "$PHOENIX_RUN_DIR/lib.sh"
ETC="${PHOENIX_ETC:-/etc}"
DEV_FUSE="${PHOENIX_DEV_FUSE:-/dev/fuse}"

case "$PHOENIX_DOCKER_ENGINE" in
  docker.io)
    apt_install docker.io
    ;;
  docker-ce)
    apt_install ca-certificates curl gnupg
    # shellcheck source=/dev/null
    . "$ETC/os-release"
    if [ ! -f "$ETC/apt/keyrings/docker.asc" ]; then
      install -m 0755 -d "$ETC/apt/keyrings"
      curl -fsSL "https://download.docker.com/linux/${ID}/gpg" -o "$ETC/apt/keyrings/docker.asc"
      chmod a+r "$ETC/apt/keyrings/docker.asc"
    fi
    list="deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/${ID} ${VERSION_CODENAME} stable"
    mkdir -p "$ETC/apt/sources.list.d"
    if [ "$(cat "$ETC/apt/sources.list.d/docker.list" 2>/dev/null)" != "$list" ]; then
      printf '%s\n' "$list" > "$ETC/apt/sources.list.d/docker.list"
      rm -f "$PHOENIX_STATE_DIR/apt-updated"
    fi
    apt_install docker-ce docker-ce-cli containerd.io
    ;;
  *)
    log "unknown engine $PHOENIX_DOCKER_ENGINE"
    exit 2
    ;;
esac

if [ "$PHOENIX_STORAGE_DRIVER" = fuse-overlayfs ]; then
  apt_install fuse-overlayfs
  if [ ! -c "$DEV_FUSE" ]; then
    log "/dev/fuse is missing: the container needs features fuse=1"
    exit 3
  fi
fi
mkdir -p "$ETC/docker"
systemctl enable docker >/dev/null 2>&1 || true
