#!/usr/bin/env bash
# Runs every phoenix test: unit, snapshot, integration against real LXC through the pct
# emulator, doctests, and the benchmarks in test mode (one iteration each).
# Set PHOENIX_REQUIRE_SYSTEM_TESTS=1 to make tests that need root, LXC or
# apparmor_parser fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
# The emulator's pct/pvesm and the phoenix binary must exist before the end-to-end tests run.
cargo build --workspace --bins
cargo test --workspace --all-targets --no-fail-fast
cargo test --workspace --doc
