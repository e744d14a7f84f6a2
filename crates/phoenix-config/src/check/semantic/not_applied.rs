//! Keys phoenix reads but does not act on yet, and secrets written in plaintext:
//! both are warnings, never errors, so the newest bash-era files validate while
//! saying exactly what this phoenix version leaves undone.

use super::{Ctx, ct};
use crate::model::secret::SecretRef;
use crate::schema::ConfigFile::{self, Hypervisor, Lxc, Vm};

/// The warning text for a key read but not applied.
fn not_applied(ctx: &mut Ctx<'_>, file: ConfigFile, pointer: String) {
    let key = pointer.rsplit('/').next().unwrap_or_default().to_owned();
    ctx.warning(
        file,
        &pointer,
        format!("{key} at {pointer}: read, not applied by this phoenix version"),
    );
}

/// Every key of the newest bash-era files that phoenix models but does not act on.
pub(super) fn keys(ctx: &mut Ctx<'_>) {
    let mut found: Vec<(ConfigFile, String)> = Vec::new();
    for (id, c) in ctx.containers() {
        let base = ct(id);
        // Applied (so not listed): network_config.nameservers and search_domain
        // (pct --nameserver/--searchdomain), enable_lifecycle_snapshots, firewall,
        // vllm_engine_config (the vllm feature's unit).
        let set = [
            ("traefik_service", c.traefik_service.is_some()),
            (
                "trigger_sync_on_completion",
                c.trigger_sync_on_completion.is_some(),
            ),
            ("bootstrap_ca_url", c.bootstrap_ca_url.is_some()),
        ];
        found.extend(
            set.into_iter()
                .filter(|(_, on)| *on)
                .map(|(key, _)| (Lxc, format!("{base}/{key}"))),
        );
    }
    let h = &ctx.fleet.hypervisor;
    let top = [
        ("/domain_name", h.domain_name.is_some()),
        (
            "/portainer_api/portainer_hostname",
            h.portainer_api.is_some(),
        ),
        ("/vm_defaults", h.vm_defaults.is_some()),
        ("/dns_server", h.dns_server.is_some()),
        ("/step_ca", h.step_ca.is_some()),
        (
            "/core_paths/vm_config_file",
            h.core_paths
                .as_ref()
                .is_some_and(|p| p.vm_config_file.is_some()),
        ),
        (
            "/network/fallback_dns",
            h.network.as_ref().is_some_and(|n| n.fallback_dns.is_some()),
        ),
        (
            "/firewall/global_firewall_rules",
            h.firewall
                .as_ref()
                .is_some_and(|f| !f.global_firewall_rules.is_empty()),
        ),
    ];
    found.extend(
        top.into_iter()
            .filter(|(_, on)| *on)
            .map(|(p, _)| (Hypervisor, p.to_owned())),
    );
    if let Some(zfs) = &h.zfs {
        for (i, d) in zfs.datasets.iter().enumerate() {
            if d.storage_class.is_some() {
                found.push((Hypervisor, format!("/zfs/datasets/{i}/storage_class")));
            }
        }
    }
    for (n, vm) in ctx.vms() {
        let base = format!("/vms/{n}");
        let set = [
            ("start_at_boot", vm.start_at_boot.is_some()),
            ("boot_order", vm.boot_order.is_some()),
            ("boot_delay", vm.boot_delay.is_some()),
            ("dependencies", !vm.dependencies.is_empty()),
            ("portainer_role", vm.portainer_role.is_some()),
            (
                "portainer_environment_name",
                vm.portainer_environment_name.is_some(),
            ),
            (
                "portainer_agent_hostname",
                vm.portainer_agent_hostname.is_some(),
            ),
            (
                "trigger_sync_on_completion",
                vm.trigger_sync_on_completion.is_some(),
            ),
            ("traefik_service", vm.traefik_service.is_some()),
            ("volumes", !vm.volumes.is_empty()),
            ("docker_stacks", !vm.docker_stacks.is_empty()),
            ("dns_records", !vm.dns_records.is_empty()),
            ("firewall", vm.firewall.is_some()),
            (
                "network_config/nameserver",
                vm.network_config
                    .as_ref()
                    .is_some_and(|c| c.nameserver.is_some()),
            ),
        ];
        found.extend(
            set.into_iter()
                .filter(|(_, on)| *on)
                .map(|(key, _)| (Vm, format!("{base}/{key}"))),
        );
    }
    for (file, pointer) in found {
        not_applied(ctx, file, pointer);
    }
}

/// Settings of a feature the container does not list: phoenix would never apply them,
/// so say so instead of dropping them silently (the first key set, once per feature).
pub(super) fn settings_without_feature(ctx: &mut Ctx<'_>) {
    let mut found: Vec<(String, &'static str)> = Vec::new();
    for (id, c) in ctx.containers() {
        let listed = |name: &str| c.features.iter().any(|f| f.as_str() == name);
        let vllm = [
            ("vllm_engine_config", c.vllm_engine_config.is_some()),
            ("vllm_model", c.vllm_model.is_some()),
            ("vllm_served_model_name", c.vllm_served_model_name.is_some()),
            ("vllm_port", c.vllm_port.is_some()),
            ("vllm_version", c.vllm_version.is_some()),
            ("vllm_parameters", c.vllm_parameters.is_some()),
            ("vllm_args", !c.vllm_args.is_empty()),
        ];
        if !listed("vllm")
            && let Some((key, _)) = vllm.iter().find(|(_, on)| *on)
        {
            found.push((format!("{}/{key}", ct(id)), "vllm"));
        }
        if !listed("ollama") && c.ollama.is_some() {
            found.push((format!("{}/ollama", ct(id)), "ollama"));
        }
        // vllm requires nvidia, so it brings the GPUs through too.
        let gpus = c
            .gpu_assignment
            .as_ref()
            .is_some_and(|g| g.selection() != crate::names::GpuSelection::None);
        if gpus && !listed("nvidia") && !listed("vllm") {
            found.push((format!("{}/gpu_assignment", ct(id)), "nvidia"));
        }
    }
    for (pointer, feature) in found {
        let key = pointer.rsplit('/').next().unwrap_or_default().to_owned();
        ctx.warning(
            Lxc,
            &pointer,
            format!(
                "{key} at {pointer}: not applied: the container's features do not list '{feature}'"
            ),
        );
    }
}

/// A secret written in a config file is readable by anyone who can read the file
/// (and ends up in backups and version control): warn, and show how to reference it
/// instead. The value itself is never part of the message.
pub(super) fn plaintext_secrets(ctx: &mut Ctx<'_>) {
    let mut found: Vec<(ConfigFile, String)> = Vec::new();
    let h = &ctx.fleet.hypervisor;
    let mut push = |file: ConfigFile, pointer: String, s: Option<&SecretRef>| {
        if s.is_some_and(SecretRef::is_plaintext) {
            found.push((file, pointer));
        }
    };
    push(
        Hypervisor,
        "/portainer_api/admin_password".into(),
        h.portainer_api.as_ref().map(|p| &p.admin_password),
    );
    push(
        Hypervisor,
        "/users/password".into(),
        h.users.as_ref().and_then(|u| u.password.as_ref()),
    );
    for (id, c) in ctx.containers() {
        push(
            Lxc,
            format!("{}/vllm_hf_token", ct(id)),
            c.vllm_hf_token.as_ref(),
        );
    }
    for (n, vm) in ctx.vms() {
        push(
            Vm,
            format!("/vms/{n}/user_config/password"),
            vm.user_config.as_ref().and_then(|u| u.password.as_ref()),
        );
    }
    for (file, pointer) in found {
        let key = pointer.rsplit('/').next().unwrap_or_default().to_owned();
        ctx.warning(
            file,
            &pointer,
            format!(
                "plaintext secret at {pointer}: anyone who can read {} can read this {key}; write {{\"file\": \"/path\"}} or {{\"env\": \"VAR\"}} instead",
                file.file_name()
            ),
        );
    }
}
