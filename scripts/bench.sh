#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: builds the release binaries (phoenix, the pct emulator) and
# runs the fleet benchmark (crates/phoenix-cli/benches/fleet.rs), which measures validate,
# plan, `phoenix up` at --jobs 1, 4 and 8, the pct calls per container and the bash era's
# way side by side in one run, and writes the markdown. Needs root, LXC and jq; creates
# containers 7000-7019 and 7030-7049 and the bridges vmbrbench and vmbrbn0 (removed after).
# On a machine shared with other container tests, run it under their lock, e.g.
# `flock /path/to/lock bash scripts/bench.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p phoenix-cli -p pct-emulator
out="$PWD/BENCHMARKS.md"
tmp="$out.tmp"
PHOENIX_BENCH_MD="$tmp" cargo bench -p phoenix-cli --bench fleet
mv "$tmp" "$out"
echo "wrote $out"
