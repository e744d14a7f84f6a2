#!/usr/bin/env bash
# Runs every phoenix test: unit, snapshot, integration against real LXC through the pct
# emulator, doctests, the benchmarks in test mode (one iteration each), shellcheck of
# every embedded script, and the end-to-end fleet tests once more against the emulator
# in Proxmox VE 8 mode (the first run is VE 9, the emulator's default).
# Set PHOENIX_REQUIRE_SYSTEM_TESTS=1 to make tests that need root, LXC or
# apparmor_parser fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
# The emulator's pct/pvesm and the phoenix binary must exist before the end-to-end tests run.
cargo build --workspace --bins
cargo test --workspace --all-targets --no-fail-fast || status=1
cargo test --workspace --doc || status=1
echo "== end-to-end fleet tests against the emulator in PVE 8 mode"
PCT_EMU_PVE_VERSION=8 cargo test -p phoenix-cli --test e2e_fleet || status=1
echo "== shellcheck of the embedded scripts"
if command -v shellcheck >/dev/null; then
  shellcheck -x -P crates/phoenix-features/scripts crates/phoenix-features/scripts/*.sh fixtures/bin/*.sh fixtures/bin/*/*.sh || status=1
elif [ "${PHOENIX_REQUIRE_SYSTEM_TESTS:-0}" = 1 ]; then
  echo "shellcheck is missing (scripts/setup.sh installs it)" >&2
  status=1
fi
exit "$status"
