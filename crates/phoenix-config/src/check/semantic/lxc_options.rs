//! Raw `lxc.*` lines in `lxc_options`, and extra AppArmor rules phoenix could not
//! apply.
//!
//! Every line either reaches the CT conf as written, or is an error: a key Proxmox
//! drops at its next rewrite, or one that duplicates or contradicts a setting phoenix
//! manages (named in the message), is refused. Lines that weaken confinement are
//! legal but get a warning naming the risk.

use super::Ctx;
use crate::model::apparmor::Capability;
use crate::model::container::Container;
use crate::schema::ConfigFile::Lxc;
use phoenix_pveconf::conf::{LxcKeyFate, lxc_key_fate};

/// The AppArmor profiles phoenix ships and can derive a per-container profile from
/// (phoenix-apparmor's `ShippedProfile::ALL`; the config crate does not depend on it).
pub(crate) const SHIPPED_PROFILES: &[&str] =
    &["lxc-phoenix-v2", "lxc-docker-secure", "lxc-phoenix-gpu"];

/// Keys whose value phoenix writes from a setting of its own.
const MANAGED: &[(&str, &str)] = &[
    ("lxc.uts.name", "name"),
    ("lxc.utsname", "name"),
    ("lxc.rootfs.", "storage_pool and storage_size_gb"),
    ("lxc.net.", "network_config"),
    ("lxc.network.", "network_config"),
    ("lxc.cgroup2.memory.max", "memory_mb"),
    ("lxc.cgroup.memory.limit_in_bytes", "memory_mb"),
    ("lxc.cgroup2.memory.swap.max", "swap_mb"),
    ("lxc.start.auto", "start_at_boot"),
    ("lxc.start.order", "boot_order"),
    ("lxc.start.delay", "boot_delay"),
];

/// Host device nodes a bind mount commonly passes in (FUSE, TUN): no warning.
const HOST_SOURCES_OK: &[&str] = &["/dev/fuse", "/dev/net/tun", "/dev/null", "/dev/zero"];

/// Checks one `lxc_options` line.
pub(super) fn check(ctx: &mut Ctx<'_>, c: &Container, pointer: &str, key: &str, value: &str) {
    if let Some((_, setting)) = MANAGED
        .iter()
        .find(|(k, _)| key == *k || (k.ends_with('.') && key.starts_with(k)))
    {
        ctx.error(
            Lxc,
            pointer,
            format!(
                "{key} at {pointer}: phoenix writes this from {setting}; set {setting} instead"
            ),
        );
        return;
    }
    match lxc_key_fate(key) {
        LxcKeyFate::Dropped(why) => {
            ctx.error(Lxc, pointer, format!("{key} at {pointer}: {why}"));
            return;
        }
        LxcKeyFate::KeptWithWarning(why) if !matches!(key, "lxc.aa_profile" | "lxc.id_map") => {
            ctx.warning(Lxc, pointer, format!("{key} at {pointer}: {why}"));
        }
        _ => {}
    }
    match key {
        "lxc.apparmor.profile" | "lxc.aa_profile" => profile(ctx, c, pointer, key, value),
        "lxc.idmap" | "lxc.id_map" => super::privilege::raw_idmap(ctx, pointer, key, value),
        "lxc.apparmor.raw" => ctx.warning(
            Lxc,
            pointer,
            format!("{key} at {pointer}: adds raw AppArmor rules phoenix cannot check; prefer apparmor_extra_rules"),
        ),
        "lxc.cap.drop" if value.is_empty() => ctx.warning(
            Lxc,
            pointer,
            format!("empty {key} at {pointer}: clears the capabilities LXC drops by default, so container root keeps them all"),
        ),
        "lxc.cap.keep" | "lxc.cap.drop" => capabilities(ctx, pointer, key, value),
        "lxc.cgroup2.devices.allow" | "lxc.cgroup.devices.allow" if value == "a" => ctx.warning(
            Lxc,
            pointer,
            format!("{key}=a at {pointer}: gives the container access to every host device"),
        ),
        "lxc.mount.entry" => {
            let source = value.split_whitespace().next().unwrap_or_default();
            if source.starts_with('/') && !HOST_SOURCES_OK.contains(&source) {
                ctx.warning(
                    Lxc,
                    pointer,
                    format!("{key} at {pointer}: mounts the host's {source} into the container, outside phoenix's checks of mount_points"),
                );
            }
        }
        "lxc.mount.auto" if value.split_whitespace().any(|v| v.ends_with(":rw")) => ctx.warning(
            Lxc,
            pointer,
            format!("{key} at {pointer}: {value} mounts the kernel's proc or sys writable into the container"),
        ),
        k if k.starts_with("lxc.hook.") => ctx.warning(
            Lxc,
            pointer,
            format!("{key} at {pointer}: runs a command as root on the host at every container start"),
        ),
        _ => {}
    }
}

fn profile(ctx: &mut Ctx<'_>, c: &Container, pointer: &str, key: &str, value: &str) {
    let legacy = if key == "lxc.aa_profile" {
        " (the old name of lxc.apparmor.profile)"
    } else {
        ""
    };
    match &c.apparmor_profile {
        Some(p) if p.as_str() == value => ctx.warning(
            Lxc,
            pointer,
            format!("redundant {key} at {pointer}{legacy}: apparmor_profile already sets \"{value}\"; remove this line"),
        ),
        Some(p) => ctx.error(
            Lxc,
            pointer,
            format!("{key} at {pointer}{legacy}: sets \"{value}\" but apparmor_profile sets \"{p}\"; phoenix writes this key from apparmor_profile"),
        ),
        None if value == "unconfined" => ctx.warning(
            Lxc,
            pointer,
            format!("{key}=unconfined at {pointer}{legacy}: the container runs without AppArmor confinement"),
        ),
        None if key == "lxc.aa_profile" => ctx.error(
            Lxc,
            pointer,
            format!("{key} at {pointer}{legacy}: set apparmor_profile instead"),
        ),
        None => {}
    }
}

fn capabilities(ctx: &mut Ctx<'_>, pointer: &str, key: &str, value: &str) {
    // LXC splits the value on spaces and tabs only; each item must be a capability
    // name or number, or the container fails to start.
    for item in value.split([' ', '\t']).filter(|s| !s.is_empty()) {
        let known = Capability::ALL.iter().any(|c| c.as_str() == item)
            || item.bytes().all(|b| b.is_ascii_digit())
            || (key == "lxc.cap.keep" && item == "none");
        if !known {
            ctx.error(
                Lxc,
                pointer,
                format!(
                    "invalid capability \"{item}\" at {pointer}: {key} takes capability names separated by spaces, like \"sys_admin mknod\""
                ),
            );
        }
    }
}

/// The profile the container runs under as the orchestrator picks it: a feature's
/// profile that overrides the config (docker), else `apparmor_profile`, else a
/// feature's default (nvidia, vllm).
fn effective_profile(c: &Container) -> Option<String> {
    let has = |f: &str| c.features.iter().any(|x| x.as_str() == f);
    if has("docker") {
        return Some("lxc-docker-secure".to_owned());
    }
    if let Some(p) = &c.apparmor_profile {
        return Some(p.as_str().to_owned());
    }
    (has("nvidia") || has("vllm")).then(|| "lxc-phoenix-gpu".to_owned())
}

/// Extra rules go into a profile phoenix derives from one it ships; on any other
/// profile they would be dropped, so they are refused.
pub(super) fn extra_rules(ctx: &mut Ctx<'_>, c: &Container, base: &str) {
    if c.apparmor_extra_rules.is_empty() {
        return;
    }
    let pointer = format!("{base}/apparmor_extra_rules");
    let why = match effective_profile(c).as_deref() {
        Some(p) if SHIPPED_PROFILES.contains(&p) => return,
        Some("unconfined") => {
            "the container runs unconfined, so there is no profile to add them to".to_owned()
        }
        Some(p) => format!(
            "\"{p}\" is a host profile phoenix does not generate, so it cannot add rules to it"
        ),
        None => "the container has no phoenix profile (apparmor_profile is not set)".to_owned(),
    };
    ctx.error(
        Lxc,
        &pointer,
        format!(
            "apparmor_extra_rules at {pointer}: {why}; set apparmor_profile to one phoenix ships ({}) to use extra rules",
            SHIPPED_PROFILES.join(", ")
        ),
    );
}
