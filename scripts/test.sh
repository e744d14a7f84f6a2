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
# `cargo test --workspace --all-targets` builds every binary of the workspace (the emulator's
# pct/pvesm, phoenix) into target/debug before it runs a test, with the features the tests
# use: a separate `cargo build --bins` would build the workspace a second time.
cargo test --workspace --all-targets --no-fail-fast || status=1
cargo test --workspace --doc || status=1
echo "== end-to-end fleet tests against the emulator in PVE 8 mode"
# --workspace keeps the features of the build above: `-p phoenix-cli` would build everything again.
PCT_EMU_PVE_VERSION=8 cargo test --workspace --test e2e_fleet || status=1
echo "== shellcheck of the embedded scripts"
if command -v shellcheck >/dev/null; then
  shellcheck -x -P crates/phoenix-features/scripts crates/phoenix-features/scripts/*.sh fixtures/bin/*.sh fixtures/bin/*/*.sh crates/phoenix-orchestrator/src/prove.sh crates/phoenix-cli/benches/bash-era.sh scripts/bench.sh || status=1
elif [ "${PHOENIX_REQUIRE_SYSTEM_TESTS:-0}" = 1 ]; then
  echo "shellcheck is missing (scripts/setup.sh installs it)" >&2
  status=1
fi
exit "$status"
