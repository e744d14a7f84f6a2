#!/usr/bin/env bash
# Regenerates BENCHMARKS.md: builds the release binaries (phoenix, the pct emulator) and
# runs the fleet benchmark (crates/phoenix-cli/benches/fleet.rs), which measures validate,
# plan, `phoenix up` at --jobs 1, 4 and 8, the pct calls per container and the bash era's
# way side by side in one run, and writes the markdown (each `up` row's lower bound takes
# each call's own work from three `up --jobs 1` runs without latency, made first). Needs
# root, LXC and jq; creates containers 7000-7019 and 7030-7049 and the bridges vmbrbench
# and vmbrbn0 (removed after).
# On a machine shared with other container tests, run it under their lock, e.g.
# `flock /path/to/lock bash scripts/bench.sh`.
#
# While iterating: PHOENIX_BENCH_JOBS=4 (or a list, 1,4) runs only those `up` rows (no
# validate/plan timings, no baseline) and prints the markdown without touching
# BENCHMARKS.md; PHOENIX_BENCH_LOGS=DIR keeps each row's emulator call logs
# (jobsN-first.log, jobsN-second.log: argv, start in ms since the epoch, duration in ms)
# and the first up's event stream (jobsN-first-events.jsonl) in DIR.
#
# The emulator's roots (each container's rootfs, which `pct clone` copies with `cp -a`)
# live on a tmpfs the script mounts (PHOENIX_BENCH_TMPFS=0: the default TMPDIR instead).
# On this machine's ext4 disk a `cp -a` of the busybox rootfs took 12 ms to 300 ms
# depending on what the bench had deleted before (the inode allocator skipping freed
# inodes), which is the disk's behaviour, not phoenix's; on Proxmox that copy is the
# storage's (ZFS, LVM-thin) own business.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p phoenix-cli -p pct-emulator
if [[ ${PHOENIX_BENCH_TMPFS:-1} != 0 ]]; then
    bench_tmp=$(mktemp -d /tmp/phoenix-bench.XXXXXX)
    mount -t tmpfs -o size=6G,mode=0755 phoenix-bench "$bench_tmp"
    trap 'umount "$bench_tmp" && rmdir "$bench_tmp"' EXIT
    export TMPDIR=$bench_tmp
fi
if [[ -n ${PHOENIX_BENCH_JOBS:-} ]]; then
    cargo bench -p phoenix-cli --bench fleet
    exit
fi
out="$PWD/BENCHMARKS.md"
tmp="$out.tmp"
PHOENIX_BENCH_MD="$tmp" cargo bench -p phoenix-cli --bench fleet
mv "$tmp" "$out"
echo "wrote $out"
