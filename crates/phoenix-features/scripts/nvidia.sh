# shellcheck shell=bash
# Installs the NVIDIA user-space driver of the host kernel module's version inside a
# container (idempotent), and with docker the NVIDIA container toolkit. Environment:
#   PHOENIX_NVIDIA_VERSION  the driver version (the host kernel module's)
#   PHOENIX_NVIDIA_METHOD   runfile or packages
#   PHOENIX_NVIDIA_URL      the runfile's URL, or the apt repository's
#   PHOENIX_NVIDIA_SHA256   the runfile's SHA-256 (empty: not checked)
#   PHOENIX_NVIDIA_TOOLKIT  1: install nvidia-container-toolkit for docker
# The docker runtime is merged into daemon.json by phoenix itself, structurally,
# after this script. PHOENIX_ETC (default /etc) lets a test use a scratch directory.
# shellcheck source=lib.sh
. "$PHOENIX_RUN_DIR/lib.sh"
ETC="${PHOENIX_ETC:-/etc}"
VERSION="$PHOENIX_NVIDIA_VERSION"

installed_version() {
  nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1 || true
}

# Writes $2 to the apt source $1 when it differs; a new source needs an apt update.
apt_source() {
  mkdir -p "$ETC/apt/sources.list.d"
  if [ "$(cat "$ETC/apt/sources.list.d/$1" 2>/dev/null)" != "$2" ]; then
    printf '%s\n' "$2" > "$ETC/apt/sources.list.d/$1"
    rm -f "$PHOENIX_STATE_DIR/apt-updated"
  fi
}

# Fetches a repository key once.
apt_key() {
  if [ ! -f "$ETC/apt/keyrings/$1" ]; then
    install -m 0755 -d "$ETC/apt/keyrings"
    curl -fsSL --retry 2 "$2" -o "$ETC/apt/keyrings/$1"
    chmod a+r "$ETC/apt/keyrings/$1"
  fi
}

if [ "$(installed_version)" = "$VERSION" ]; then
  log "NVIDIA user-space driver $VERSION already installed"
else
  case "$PHOENIX_NVIDIA_METHOD" in
    runfile)
      apt_install ca-certificates curl kmod
      runfile="$PHOENIX_RUN_DIR/NVIDIA-Linux-$VERSION.run"
      log "downloading $PHOENIX_NVIDIA_URL"
      curl -fsSL --retry 2 "$PHOENIX_NVIDIA_URL" -o "$runfile"
      if [ -n "$PHOENIX_NVIDIA_SHA256" ]; then
        printf '%s  %s\n' "$PHOENIX_NVIDIA_SHA256" "$runfile" | sha256sum -c -
      fi
      # The kernel module is the host's: only the user-space part is installed.
      sh "$runfile" --no-kernel-module --silent
      rm -f "$runfile"
      ;;
    packages)
      apt_install ca-certificates curl
      repo="${PHOENIX_NVIDIA_URL%/}/"
      apt_key nvidia-cuda.asc "${repo}3bf863cc.pub"
      apt_source nvidia-cuda.list "deb [signed-by=/etc/apt/keyrings/nvidia-cuda.asc] $repo /"
      # shellcheck source=/dev/null
      . "$ETC/os-release"
      branch="${VERSION%%.*}"
      case "$ID" in
        ubuntu) packages=("libnvidia-compute-$branch" "nvidia-utils-$branch") ;;
        debian) packages=(nvidia-smi libcuda1 libnvidia-ml1) ;;
        *)
          log "driver packages from a repository: no package names known for $ID; use nvidia_runfile_url"
          exit 2
          ;;
      esac
      if [ ! -f "$PHOENIX_STATE_DIR/apt-updated" ]; then
        apt-get update -q || { sleep 3; apt-get update -q; }
        mkdir -p "$PHOENIX_STATE_DIR"
        touch "$PHOENIX_STATE_DIR/apt-updated"
      fi
      pinned=()
      for p in "${packages[@]}"; do
        # The repository's exact version string of this driver version (<version>-<rev>).
        v=$(apt-cache madison "$p" | awk -v want="$VERSION" '$3 ~ "^" want "-" {print $3; exit}')
        if [ -z "$v" ]; then
          log "$p $VERSION is not in $repo"
          exit 3
        fi
        pinned+=("$p=$v")
      done
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pinned[@]}"
      ;;
    *)
      log "unknown method $PHOENIX_NVIDIA_METHOD"
      exit 2
      ;;
  esac
  have="$(installed_version)"
  if [ "$have" != "$VERSION" ]; then
    log "nvidia-smi reports '${have}', not $VERSION"
    exit 4
  fi
fi

if [ "$PHOENIX_NVIDIA_TOOLKIT" = 1 ]; then
  apt_install ca-certificates curl
  apt_key nvidia-container-toolkit.asc https://nvidia.github.io/libnvidia-container/gpgkey
  # apt substitutes $(ARCH) itself (NVIDIA's own list file says the same).
  # shellcheck disable=SC2016
  apt_source nvidia-container-toolkit.list 'deb [signed-by=/etc/apt/keyrings/nvidia-container-toolkit.asc] https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /'
  apt_install nvidia-container-toolkit
  # An unprivileged container cannot manage device cgroups: the runtime must not try.
  if ! grep -Eq '^[[:space:]]*no-cgroups[[:space:]]*=[[:space:]]*true' "$ETC/nvidia-container-runtime/config.toml" 2>/dev/null; then
    nvidia-ctk config --in-place --set nvidia-container-cli.no-cgroups=true
    log "no-cgroups = true in /etc/nvidia-container-runtime/config.toml"
  fi
fi
