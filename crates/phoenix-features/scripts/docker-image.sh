# shellcheck shell=bash
# Makes the local test image phoenix/busybox (no registry is needed) and runs it.
# shellcheck source=lib.sh
. "$PHOENIX_RUN_DIR/lib.sh"

if ! docker image inspect phoenix/busybox >/dev/null 2>&1; then
  apt_install busybox-static
  tree="$PHOENIX_RUN_DIR/busybox-tree"
  mkdir -p "$tree/bin"
  cp /bin/busybox "$tree/bin/busybox"
  # Every applet as a link, except `busybox` itself (a link to itself would replace it).
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$tree/bin/$applet"
  done
  tar -C "$tree" -c . | docker import - phoenix/busybox >/dev/null
fi
docker run --rm phoenix/busybox echo phoenix-image-ok
