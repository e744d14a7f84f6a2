#!/usr/bin/env bash
# Fuzzes every phoenix parser: runs each target of fuzz/ for SECONDS (default 600, ten
# minutes), one target after another, each in ONE libFuzzer process with one thread
# (nice 19), so the machine stays usable. The corpora start from the fixtures.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Targets: conf (CT conf files), props (property strings), idmap (lxc.idmap entries,
# uid_map text, planner intents), subid (/etc/subuid), config (the config JSON: load and
# validate), plan_json (saved plans). A crash stops the run with libFuzzer's report; the
# input is kept in fuzz/artifacts/<target>/. Each run's last lines (executions, corpus
# size) are kept in fuzz/artifacts/<target>.log.
#
# The toolchain here is stable: cargo-fuzz's nightly-only flags are allowed with
# RUSTC_BOOTSTRAP=1. Builds with debug assertions, so an arithmetic overflow is a crash.
# fuzz/ is a workspace of its own (the root Cargo.toml excludes it): CI never builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=(conf props idmap subid config plan_json)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
repo=$PWD

# Seed corpora, from the fixtures (copied, never moved; libFuzzer adds to these folders).
seed() { mkdir -p "fuzz/corpus/$1"; }
put() { # put TARGET NAME: stdin becomes the seed file
  cat >"fuzz/corpus/$1/seed-$2"
}
for t in conf props idmap subid config plan_json; do seed "$t"; done
n=0
for f in fixtures/conf/*.conf fixtures/conf/canonical/* fixtures/idmap/*.conf fixtures/apparmor/*.conf; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  put conf "$n" <"$f"
  grep -E '^lxc\.idmap[:=]' "$f" | sed -E 's/^lxc\.idmap[:=] ?//' | put idmap "$n" || true
done
# props: the first byte picks the type (fuzz/fuzz_targets/props.rs).
pick() { # pick INDEX KEY-REGEX
  local i=$1 re=$2 line
  { cat fixtures/conf/*.conf fixtures/idmap/*.conf | grep -E "^($re): " || true; } |
    sed -E 's/^[a-z0-9]+: //' | sort -u |
    while IFS= read -r line; do
      printf "\\x$(printf %02x "$i")%s" "$line" | put props "$i-$(printf %s "$line" | cksum | cut -d' ' -f1)"
    done
}
pick 0 'net[0-9]+'
pick 1 'mp[0-9]+'
pick 2 'rootfs'
pick 3 'features'
pick 4 'startup'
pick 5 'dev[0-9]+'
printf '\x068G' | put props size
printf '\x07BC:24:11:00:00:01' | put props mac
printf '\x08u:0:100000:65536 g:0:100000:65536' | put props mount-idmap
printf '\x0910.0.0.5/24' | put props ipv4
printf '\x0afd00::5/64' | put props ipv6
printf 'u 0 100000 65536\ng 0 100000 65536\n' | put idmap default
printf '         0     100000      65536\n' | put idmap uid_map
printf 'u 1000 1000 1\n' | put idmap passthrough
for f in fixtures/subid/*; do cp "$f" "fuzz/corpus/subid/seed-${f##*/}"; done
for d in fixtures/example fixtures/design-101 fixtures/invalid/*; do
  [ -f "$d/phoenix_lxc_configs.json" ] || continue
  {
    cat "$d/phoenix_lxc_configs.json"
    printf '\xff\x00'
    cat "$d/phoenix_hypervisor_config.json" 2>/dev/null || printf '{}'
    if [ -f "$d/phoenix_vm_configs.json" ]; then
      printf '\xff\x00'
      cat "$d/phoenix_vm_configs.json"
    fi
  } | put config "$(basename "$d")"
done
# A saved plan: the plan the orchestrator's snapshot test records.
sed '1,/^---$/d' crates/phoenix-orchestrator/tests/snapshots/recorded__plan_from_nothing.snap |
  put plan_json from-nothing

cd fuzz
cargo fuzz build -O -a
mkdir -p artifacts
status=0
for t in "${targets[@]}"; do
  echo "== fuzz $t for ${seconds}s ($(find "corpus/$t" -type f | wc -l) inputs in the corpus)"
  mkdir -p "artifacts/$t"
  log="artifacts/$t.log"
  if nice -n 19 cargo fuzz run -O -a "$t" "corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$repo/fuzz/artifacts/$t/" \
    >"$log.full" 2>&1; then
    result=ok
  else
    result=crash
    status=1
  fi
  # Progress lines are many; keep the end (final stats, or the crash report).
  grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log.full" | tail -n 60 >"$log"
  rm -f "$log.full"
  tail -n 12 "$log"
  echo "== fuzz $t: $result (log: fuzz/$log, corpus: $(find "corpus/$t" -type f | wc -l) inputs)"
done
exit "$status"
