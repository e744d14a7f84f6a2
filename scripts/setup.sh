#!/usr/bin/env bash
# Installs what phoenix's demo and tests need on a fresh Debian machine, as root:
# LXC and uidmap for real unprivileged containers, busybox-static for the demo
# OS template, mmdebstrap for the Debian 12 OS template (phoenix-mktemplate --distro
# debian-12), nftables for the emulator's filtered uplink (pct-emulator-net up),
# apparmor (apparmor_parser and the lxc abstractions), nginx (nginx -t of the rendered
# gateway), openssl (its test certificate), shellcheck (the embedded feature scripts),
# systemd (systemd-analyze verify of the rendered vllm and ollama units), jq (the fleet
# benchmark's bash-era baseline), and root's subordinate id ranges that unprivileged LXC
# needs. Idempotent.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "setup.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi

packages=(lxc uidmap busybox-static apparmor nginx openssl shellcheck iproute2 tar xz-utils
  zstd gzip mmdebstrap debian-archive-keyring nftables curl util-linux systemd jq)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Real LXC on this machine reads the real /etc/subuid and /etc/subgid; phoenix's own
# edits happen under --root. Delegate the ranges the tests and the demo map.
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  grep -q '^root:100000:' "$f" || echo 'root:100000:65536' >> "$f"
  grep -q '^root:1000:' "$f" || echo 'root:1000:1' >> "$f"
done

if ! command -v cargo >/dev/null; then
  echo "setup.sh: cargo is missing (install Rust with rustup)" >&2
  exit 1
fi
echo "setup.sh: host ready"
