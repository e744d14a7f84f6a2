#!/usr/bin/env bash
# The old system's way of converging a fleet, as the baseline of BENCHMARKS.md: the
# bash era read its config with one `jq` process per value, applied each option with
# its own `pct set`, ran the start/stop cycle its design asked for (to make Proxmox
# write the idmap), and did one container after the other.
#
# Usage: bash-era.sh CONFIG_DIR
# Environment: PCT (default `pct`), JQ_LOG (a file that gets one line per jq process).
#
# Two steps of the old design are left out because Proxmox refuses or ignores them
# (../shared/reference/proxmox-pct.md): `pct set --unprivileged 1` after a clone
# (read-only after create) and the fatal check that the start/stop cycle wrote
# `lxc.idmap` into the conf (it never does); the conf is still read where the check was.
set -euo pipefail

config_dir=${1:?usage: bash-era.sh CONFIG_DIR}
lxc_file="$config_dir/phoenix_lxc_configs.json"
pct=${PCT:-pct}
jq_log=${JQ_LOG:-/dev/null}

# One jq process per value read, as the bash era's jq_get did.
jq_get() {
	echo jq >>"$jq_log"
	jq -r "$1" "$lxc_file"
}

converge() {
	local ctid=$1
	local cfg=".lxc_configs[\"$ctid\"]"
	if "$pct" status "$ctid" >/dev/null 2>&1; then
		echo "CT $ctid exists, skipping"
		return 0
	fi
	local clone_from name memory cores storage size net_name bridge ip gw mac unprivileged snapshot
	clone_from=$(jq_get "$cfg.clone_from_ctid // empty")
	name=$(jq_get "$cfg.name")
	memory=$(jq_get "$cfg.memory_mb")
	cores=$(jq_get "$cfg.cores")
	storage=$(jq_get "$cfg.storage_pool")
	size=$(jq_get "$cfg.storage_size_gb")
	net_name=$(jq_get "$cfg.network_config.name")
	bridge=$(jq_get "$cfg.network_config.bridge")
	ip=$(jq_get "$cfg.network_config.ip")
	gw=$(jq_get "$cfg.network_config.gw")
	mac=$(jq_get "$cfg.mac_address")
	unprivileged=$(jq_get "$cfg.unprivileged")
	snapshot=$(jq_get "$cfg.template_snapshot_name // empty")

	if [[ -n $clone_from ]]; then
		local source_snapshot
		source_snapshot=$(jq_get ".lxc_configs[\"$clone_from\"].template_snapshot_name")
		"$pct" clone "$clone_from" "$ctid" --snapname "$source_snapshot"
	else
		local template flag=0
		template=$(jq_get "$cfg.template")
		[[ $unprivileged == true ]] && flag=1
		"$pct" create "$ctid" "$template" --rootfs "$storage:$size" --unprivileged "$flag"
	fi
	"$pct" set "$ctid" --hostname "$name"
	"$pct" set "$ctid" --memory "$memory"
	"$pct" set "$ctid" --cores "$cores"
	"$pct" set "$ctid" --net0 "name=$net_name,bridge=$bridge,gw=$gw,hwaddr=$mac,ip=$ip,type=veth"

	# The start/stop cycle, then the conf read where the idmap check was, then the start.
	"$pct" start "$ctid"
	"$pct" stop "$ctid"
	"$pct" config "$ctid" >/dev/null
	"$pct" start "$ctid"
	if [[ -n $snapshot ]]; then
		"$pct" snapshot "$ctid" "$snapshot"
	fi
	echo "CT $ctid converged"
}

# Ids in numeric order: the bench's clone source comes first.
for ctid in $(jq_get '.lxc_configs | keys[]' | sort -n); do
	converge "$ctid"
done
