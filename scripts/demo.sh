#!/usr/bin/env bash
# The main job on the bundled example fleet (fixtures/example), on this machine:
#   1. build phoenix and the pct emulator (real unprivileged LXC, Proxmox's formats);
#   2. build a Debian 12 OS template with mmdebstrap (cached by its inputs; templates
#      cannot be downloaded here) and bring up the bridge with the filtered uplink (only
#      DNS and the Debian mirror are reachable from the containers);
#   3. validate the config, show the plan, converge the fleet with `phoenix up`
#      (base_setup in the template, Docker in the docker template and its clone);
#   4. run `phoenix up` again (nothing left to do) and finish with `phoenix status`.
# The containers keep running. `bash scripts/demo.sh --down` removes them and the root.
# Run as root (LXC), after scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=${PHOENIX_DEMO_ROOT:-/var/tmp/phoenix-demo}
export PHOENIX_ROOT=$ROOT
export PHOENIX_CONFIG_DIR=$PWD/fixtures/example
export PATH=$PWD/target/debug:$PATH
IDS=(101 102 900 901 902 950)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

BRIDGE=vmbr0   # the example fleet's bridge

down() {
  if [ -x target/debug/phoenix ] && [ -d "$ROOT/etc/pve/lxc" ]; then
    phoenix delete --yes -q "${IDS[@]}" || true
  fi
  # The uplink (and the bridge, if it created it) goes; the rest of the host stays.
  if [ -x target/debug/pct-emulator-net ]; then
    env -u PHOENIX_ROOT pct-emulator-net down --bridge "$BRIDGE" >/dev/null 2>&1 || true
  fi
  rm -rf "$ROOT"
}

if [ "${1:-}" = "--down" ]; then
  down
  echo "demo removed"
  exit 0
fi

step "build phoenix and the pct emulator"
cargo build --workspace --bins

step "fresh demo root $ROOT with a Debian 12 OS template (mmdebstrap, cached)"
down
mkdir -p "$ROOT"
chmod 755 "$ROOT"
phoenix-mktemplate --root "$ROOT" --distro debian-12

step "host network: bridge $BRIDGE with the filtered uplink (DNS and the Debian mirror only)"
env -u PHOENIX_ROOT pct-emulator-net up --bridge "$BRIDGE" --subnet 10.0.0.0/24

step "phoenix validate"
phoenix validate

step "phoenix plan (changes only; -v shows every check)"
phoenix plan | grep -vE '^\s+(idmap|verify|configure) +(no-op|check) ' || true

step "phoenix up"
PCT_EMU_LOG=$ROOT/pct-calls.log phoenix up

step "phoenix up again: observed state already matches, so nothing is done"
: > "$ROOT/pct-calls-2.log"
PCT_EMU_LOG=$ROOT/pct-calls-2.log phoenix up -q
echo "pct calls of the second run: $(awk '{print $2}' "$ROOT/pct-calls-2.log" | sort | uniq -c | tr -s ' \n' ' ')"

step "phoenix status"
phoenix status

step "inside CT 102: root is uid 0, the shared volume belongs to uid 1000 (host uid 1000 by its id_maps)"
pct exec 102 -- id
pct exec 102 -- ls -ln /data

step "inside CT 102: Docker in an unprivileged container, storage driver and a local image"
pct exec 102 -- docker info --format 'storage driver: {{.Driver}}'
pct exec 102 -- docker run --rm phoenix/busybox echo "hello from a container in a container"

step "phoenix test 102: the checks docker ships"
phoenix test 102
echo
echo "The demo fleet keeps running under $ROOT; remove it with: bash scripts/demo.sh --down"
