//! The desired state of one container, derived purely from the config.
//!
//! Everything the steps compare against observed state is computed here once: the pct
//! options `create` or `set` would carry, the raw `lxc.*` lines phoenix owns, the bind
//! mounts with their owners inside the container, and the AppArmor assignment.

use std::collections::BTreeMap;

use camino::Utf8PathBuf;
use phoenix_apparmor::conf::{Assignment, ConfProfile};
use phoenix_apparmor::{ExtraRule, Profile, ShippedProfile};
use phoenix_config::{Container, Fleet};
use phoenix_features::{HostFacts, Registry, Request, Requirements};
use phoenix_idmap::IdMapEntry;
use phoenix_pct::CtOptions;
use phoenix_pveconf::props::{CidrError, Features, Ipv4Config, MountPoint, NetConfig, Startup};
use phoenix_pveconf::{SnapshotName, Vmid};

use crate::apparmor_rules::to_extra_rules;

/// Raw keys phoenix owns when the config sets them: the conf holds exactly the
/// desired lines of these keys, and stale ones are removed.
pub const IDMAP_KEY: &str = "lxc.idmap";

/// How a container comes into being.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `pct create` from an OS template (volume id or absolute path).
    Template(String),
    /// `pct clone` of another container's snapshot.
    Clone {
        /// The source container.
        from: Vmid,
        /// The source's `template_snapshot_name`.
        snapshot: Option<SnapshotName>,
    },
}

/// A bind mount with the owner its host directory must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredMount {
    /// Where it comes from, for messages: `shared volume ssl_certs` or `mount point 0`.
    pub origin: String,
    /// The host directory, as written in the conf (not prefixed with the root).
    pub host_path: Utf8PathBuf,
    /// The path inside the container.
    pub ct_path: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// Owner uid inside the container.
    pub owner_uid: u32,
    /// Owner gid inside the container.
    pub owner_gid: u32,
    /// Permission bits of the host directory, when the config sets them.
    pub mode: Option<u32>,
}

impl DesiredMount {
    /// The mpN value (`/host,mp=/ct[,ro=1]`).
    pub fn mount_point(&self) -> MountPoint {
        MountPoint {
            volume: self.host_path.as_str().to_owned(),
            mp: self.ct_path.clone(),
            size: None,
            acl: None,
            ro: self.read_only.then_some(true),
            quota: None,
            replicate: None,
            shared: None,
            backup: None,
            keepattrs: None,
            mountoptions: Vec::new(),
            idmap: None,
        }
    }
}

/// The desired state of one container.
#[derive(Debug, Clone)]
pub struct DesiredCt {
    /// The container id.
    pub vmid: Vmid,
    /// Create or clone.
    pub source: Source,
    /// Unprivileged (read-only after create).
    pub unprivileged: bool,
    /// The root disk's storage.
    pub storage: String,
    /// The root disk's size in GiB.
    pub rootfs_gb: u32,
    /// Every option phoenix manages, as `pct create`/`pct set` would pass it.
    pub options: CtOptions,
    /// Bind mounts (shared volumes and the container's own mount points), by container path.
    pub mounts: Vec<DesiredMount>,
    /// Explicit `lxc.idmap` entries (empty: Proxmox's default for an unprivileged CT).
    pub id_maps: Vec<IdMapEntry>,
    /// Raw `lxc.*` lines from `lxc_options`, by key, in config order.
    pub lxc: BTreeMap<String, Vec<String>>,
    /// The AppArmor profile to set, if the config (or a feature) asks for one.
    pub apparmor: Option<Assignment>,
    /// A per-container profile (base plus extra rules) to install on the host.
    pub own_profile: Option<Profile>,
    /// Snapshot taken after customization, for clones.
    pub template_snapshot: Option<SnapshotName>,
    /// Features in install order (each after the ones it requires).
    pub features: Vec<String>,
    /// Why the features change the container (`nesting=1: docker runs nested
    /// namespaces`), for the plan.
    pub requirement_reasons: Vec<String>,
    /// Host steps the features need.
    pub host_needs: Vec<String>,
    /// `devN` entries the features need (`/dev/nvidia0,gid=44`), in order.
    pub devices: Vec<String>,
    /// Features listed but not installed here, with why (a plan warning).
    pub not_installed: Vec<(String, String)>,
    /// The guest firewall (`/etc/pve/firewall/<id>.fw`): enabled, and its rules.
    pub firewall: Option<(bool, Vec<phoenix_pveconf::firewall::FwRule>)>,
    /// The application script (relative to the scripts directory) and its files.
    pub application: Option<(String, Vec<String>)>,
    /// Snapshots at lifecycle steps (`pre-configured` before the features,
    /// `final-form` once provisioned), as the old system took them.
    pub lifecycle_snapshots: bool,
}

/// Why a container's desired state cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum DesiredError {
    /// The container is not in the config.
    #[error("CT {0} is not defined in phoenix_lxc_configs.json")]
    Unknown(u32),
    /// The container has neither `template` nor `clone_from_ctid`.
    #[error("CT {vmid}: a container needs `template` or `clone_from_ctid`")]
    NoSource {
        /// The container.
        vmid: u32,
    },
    /// The network address does not fit Proxmox's `ip` property.
    #[error("CT {vmid}: invalid network_config")]
    Net0 {
        /// The container.
        vmid: u32,
        /// Why.
        #[source]
        source: CidrError,
    },
    /// A `pct_options` entry names a feature Proxmox does not have.
    #[error("CT {vmid}: invalid pct_options")]
    PctFeatures {
        /// The container.
        vmid: u32,
        /// Why.
        #[source]
        source: PctFeatureError,
    },
    /// The features require each other in a cycle.
    #[error("CT {vmid}: features require each other in a cycle: {}", .cycle.join(" -> "))]
    FeatureCycle {
        /// The container.
        vmid: u32,
        /// The features on the cycle, in order.
        cycle: Vec<String>,
    },
    /// A feature the container names is not in the registry.
    #[error("CT {vmid}: unknown feature '{name}'")]
    UnknownFeature {
        /// The container.
        vmid: u32,
        /// The feature.
        name: String,
    },
    /// A feature cannot say what it needs for this container.
    #[error("CT {vmid}: feature {name}")]
    Requirements {
        /// The container.
        vmid: u32,
        /// The feature.
        name: String,
        /// Why.
        #[source]
        source: phoenix_features::FeatureError,
    },
    /// The per-container AppArmor profile could not be built.
    #[error("CT {vmid}: cannot build its AppArmor profile")]
    AppArmor {
        /// The container.
        vmid: u32,
        /// The model's reason.
        #[source]
        source: phoenix_apparmor::ModelError,
    },
}

/// A `pct_options` entry phoenix cannot turn into Proxmox's `features`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PctFeatureError {
    /// Not one of Proxmox's container features.
    #[error("unknown Proxmox feature '{0}'")]
    Unknown(String),
}

/// The container `ctid` of the config, if it defines one.
pub fn container(fleet: &Fleet, ctid: u32) -> Option<&Container> {
    let id = Vmid::new(ctid).ok()?;
    fleet.lxc.lxc_configs.get(&id)
}

/// Computes the desired state of `ctid` from the fleet, with what its features need
/// (from `registry`) on a host that shows `host`.
pub fn desired(
    fleet: &Fleet,
    ctid: u32,
    registry: &Registry,
    host: &HostFacts,
) -> Result<DesiredCt, DesiredError> {
    let ct = container(fleet, ctid).ok_or(DesiredError::Unknown(ctid))?;
    let request = Request {
        vmid: ctid,
        container: ct,
        hypervisor: &fleet.hypervisor,
        lxc: &fleet.lxc,
        host,
    };
    let vmid = Vmid::new(ctid).map_err(|_| DesiredError::Unknown(ctid))?;
    let names = Registry::container_features(ct);
    let order = registry
        .install_order(&names, &request)
        .map_err(|cycle| DesiredError::FeatureCycle { vmid: ctid, cycle })?;
    let mut needs: Vec<(String, Requirements)> = Vec::new();
    for name in &order {
        match registry.requirements(name, &request) {
            Ok(Some(r)) => needs.push((name.clone(), r)),
            Ok(None) => {
                return Err(DesiredError::UnknownFeature {
                    vmid: ctid,
                    name: name.clone(),
                });
            }
            Err(source) => {
                return Err(DesiredError::Requirements {
                    vmid: ctid,
                    name: name.clone(),
                    source,
                });
            }
        }
    }

    // A feature that needs one not installed here is not installed either (vllm on a
    // container whose nvidia has no gpu_assignment): the order puts dependencies first.
    for i in 0..needs.len() {
        if needs[i].1.not_installed.is_some() {
            continue;
        }
        let missing = needs[i].1.features.iter().find(|dep| {
            needs[..i]
                .iter()
                .any(|(n, r)| n == *dep && r.not_installed.is_some())
        });
        if let Some(dep) = missing {
            needs[i].1.not_installed =
                Some(format!("it needs '{dep}', which is not installed here"));
        }
    }

    let source = match (&ct.clone_from_ctid, &ct.template) {
        (Some(from), _) => Source::Clone {
            from: *from,
            snapshot: fleet
                .lxc
                .lxc_configs
                .get(from)
                .and_then(|c| c.template_snapshot_name.clone()),
        },
        (None, Some(t)) => Source::Template(t.as_str().to_owned()),
        (None, None) => return Err(DesiredError::NoSource { vmid: ctid }),
    };

    let mut options = CtOptions {
        hostname: Some(ct.name.as_str().to_owned()),
        memory: Some(u64::from(ct.memory_mb)),
        swap: Some(u64::from(ct.swap_mb.unwrap_or(512))),
        cores: Some(ct.cores),
        onboot: Some(ct.start_at_boot),
        ..CtOptions::default()
    };
    options.nets.insert(
        0,
        net0(ct).map_err(|source| DesiredError::Net0 { vmid: ctid, source })?,
    );
    options.features = pct_features(ct, &needs)
        .map_err(|source| DesiredError::PctFeatures { vmid: ctid, source })?;
    let dns = &ct.network_config;
    if !dns.nameservers.is_empty() {
        options.nameserver = Some(
            dns.nameservers
                .0
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    options.searchdomain = dns.search_domain.as_ref().map(|d| d.as_str().to_owned());
    if ct.start_at_boot && (ct.boot_order.is_some() || ct.boot_delay.is_some()) {
        options.startup = Some(Startup {
            order: ct.boot_order.map(u64::from),
            up: ct.boot_delay.map(u64::from),
            down: None,
        });
    }

    let mounts = mounts(fleet, ctid, ct);
    let id_maps = ct
        .id_maps
        .iter()
        .map(|m| IdMapEntry {
            kind: m.kind,
            ns_start: m.container_start,
            host_start: m.host_start,
            count: m.count,
        })
        .collect();

    let (apparmor, own_profile) = apparmor(ct, ctid, &needs)?;
    let mut lxc: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for opt in &ct.lxc_options {
        let key = opt.key().to_owned();
        // The AppArmor keys belong to `apparmor_profile` when it is set (validate
        // warns about the duplicate); lxc.idmap always belongs to `id_maps`.
        let owned_by_apparmor = apparmor.is_some()
            && (key == phoenix_apparmor::conf::PROFILE_KEY
                || key == phoenix_apparmor::conf::NESTING_KEY);
        if owned_by_apparmor || key == IDMAP_KEY {
            continue;
        }
        lxc.entry(key).or_default().push(opt.value().to_owned());
    }
    for (_, r) in &needs {
        for (k, v) in &r.lxc_lines {
            let values = lxc.entry(k.clone()).or_default();
            if !values.contains(v) {
                values.push(v.clone());
            }
        }
    }

    let template_snapshot = ct.template_snapshot_name.clone();

    Ok(DesiredCt {
        vmid,
        source,
        unprivileged: ct.unprivileged,
        storage: ct.storage_pool.as_str().to_owned(),
        rootfs_gb: ct.storage_size_gb,
        options,
        mounts,
        id_maps,
        lxc,
        apparmor,
        own_profile,
        template_snapshot,
        features: order,
        requirement_reasons: needs
            .iter()
            .flat_map(|(n, r)| r.reasons.iter().map(move |w| format!("{n}: {w}")))
            .collect(),
        host_needs: needs
            .iter()
            .flat_map(|(_, r)| r.host.iter().map(|h| h.name.clone()))
            .collect(),
        devices: {
            let mut out: Vec<String> = Vec::new();
            for d in needs.iter().flat_map(|(_, r)| r.devices.iter()) {
                if !out.contains(d) {
                    out.push(d.clone());
                }
            }
            out
        },
        not_installed: needs
            .iter()
            .filter_map(|(n, r)| Some((n.clone(), r.not_installed.clone()?)))
            .collect(),
        firewall: ct
            .firewall
            .as_ref()
            .map(|f| (f.enabled, f.rules.iter().map(|r| r.to_pve_rule()).collect())),
        lifecycle_snapshots: ct.enable_lifecycle_snapshots.unwrap_or(false),
        application: ct.application_script.as_ref().map(|s| {
            (
                s.as_str().to_owned(),
                ct.application_files
                    .iter()
                    .map(|f| f.as_str().to_owned())
                    .collect(),
            )
        }),
    })
}

fn net0(ct: &Container) -> Result<NetConfig, CidrError> {
    let n = &ct.network_config;
    let mut net = NetConfig {
        name: n.name.as_str().to_owned(),
        ..NetConfig::default()
    };
    net.bridge = Some(n.bridge.as_str().to_owned());
    net.ip = Some(Ipv4Config::cidr(n.ip.addr(), n.ip.prefix())?);
    net.gw = n.gw.as_ref().map(|g| g.addr());
    net.hwaddr = ct.mac_address.clone();
    if ct.firewall.as_ref().is_some_and(|f| f.enabled) {
        net.firewall = Some(true);
    }
    Ok(net)
}

/// Proxmox `features` from `pct_options` plus what the container's features declare
/// they need (their reasons are in the plan).
fn pct_features(
    ct: &Container,
    needs: &[(String, Requirements)],
) -> Result<Option<Features>, PctFeatureError> {
    let mut f = Features::default();
    let mut any = false;
    for opt in &ct.pct_options {
        let (k, raw) = opt.as_str().split_once('=').unwrap_or((opt.as_str(), "1"));
        let v = raw == "1";
        any = true;
        match k {
            "nesting" => f.nesting = Some(v),
            "keyctl" => f.keyctl = Some(v),
            "fuse" => f.fuse = Some(v),
            "mknod" => f.mknod = Some(v),
            "force_rw_sys" => f.force_rw_sys = Some(v),
            "mount" => f.mount = raw.split(';').map(str::to_owned).collect(),
            other => return Err(PctFeatureError::Unknown(other.to_owned())),
        }
    }
    for (_, r) in needs {
        let n = &r.pct_features;
        for (want, have) in [
            (n.nesting, &mut f.nesting),
            (n.keyctl, &mut f.keyctl),
            (n.fuse, &mut f.fuse),
            (n.mknod, &mut f.mknod),
            (n.force_rw_sys, &mut f.force_rw_sys),
        ] {
            if want == Some(true) {
                any = true;
                *have = Some(true);
            }
        }
        for m in &n.mount {
            if !f.mount.contains(m) {
                any = true;
                f.mount.push(m.clone());
            }
        }
    }
    Ok(any.then_some(f))
}

fn mounts(fleet: &Fleet, ctid: u32, ct: &Container) -> Vec<DesiredMount> {
    let mut out = Vec::new();
    for (name, vol) in &fleet.hypervisor.shared_volumes {
        for (id, path) in &vol.mounts {
            if id.get() != ctid {
                continue;
            }
            out.push(DesiredMount {
                origin: format!("shared volume {name}"),
                host_path: vol.host_path.as_str().into(),
                ct_path: path.as_str().to_owned(),
                read_only: vol.read_only,
                owner_uid: vol.owner_uid.unwrap_or(0),
                owner_gid: vol.owner_gid.unwrap_or(0),
                mode: vol
                    .mode
                    .as_ref()
                    .and_then(|m| u32::from_str_radix(m.as_str(), 8).ok()),
            });
        }
    }
    for (i, mp) in ct.mount_points.iter().enumerate() {
        out.push(DesiredMount {
            origin: format!("mount point {i}"),
            host_path: mp.host_path.as_str().into(),
            ct_path: mp.container_path.as_str().to_owned(),
            read_only: mp.read_only,
            owner_uid: mp.owner_uid,
            owner_gid: mp.owner_gid,
            mode: mp
                .mode
                .as_ref()
                .and_then(|m| u32::from_str_radix(m.as_str(), 8).ok()),
        });
    }
    out.sort_by(|a, b| a.ct_path.cmp(&b.ct_path));
    out
}

/// The profile a container runs under: one a feature must override it with; else the
/// one the config names; else the first one a feature asks for (`lxc-docker-secure`
/// for Docker, `lxc-phoenix-gpu` for NVIDIA); else Proxmox's own default (no line).
/// Extra rules derive a per-container copy of the base.
fn apparmor(
    ct: &Container,
    ctid: u32,
    needs: &[(String, Requirements)],
) -> Result<(Option<Assignment>, Option<Profile>), DesiredError> {
    let wanted = |overrides: bool| {
        needs
            .iter()
            .filter_map(|(_, r)| r.apparmor.as_ref())
            .find(|a| a.overrides_config == overrides)
            .map(|a| a.profile.clone())
    };
    let named = wanted(true)
        .or_else(|| ct.apparmor_profile.as_ref().map(|p| p.as_str().to_owned()))
        .or_else(|| wanted(false));
    let base = match named.as_deref() {
        Some("unconfined") => {
            let nesting = ct.apparmor_manages_nesting.unwrap_or(false);
            return Ok((
                Some(Assignment {
                    profile: ConfProfile::Unconfined,
                    allow_nesting: nesting,
                }),
                None,
            ));
        }
        Some(name) => ShippedProfile::find(name).map_or_else(|| Err(name.to_owned()), Ok),
        None => return Ok((None, None)),
    };
    let err = |source| DesiredError::AppArmor { vmid: ctid, source };
    match base {
        Ok(shipped) => {
            let mut assignment = Assignment::shipped(shipped);
            if let Some(n) = ct.apparmor_manages_nesting {
                assignment.allow_nesting = n || shipped.manages_nesting();
            }
            if ct.apparmor_extra_rules.is_empty() {
                return Ok((Some(assignment), None));
            }
            let extras: Vec<ExtraRule> = to_extra_rules(&ct.apparmor_extra_rules);
            let own = phoenix_apparmor::extra::derive_profile(&shipped.profile(), ctid, &extras)
                .map_err(err)?;
            assignment.profile = ConfProfile::Named(own.name.clone());
            Ok((Some(assignment), Some(own)))
        }
        // A host profile phoenix does not ship: set it by name, as asked.
        Err(name) => {
            // The config's name is already phoenix-apparmor's type; only a feature's
            // requirement is a plain name (features name profiles phoenix ships).
            let profile = match ct.apparmor_profile.as_ref().filter(|p| p.as_str() == name) {
                Some(p) => p.value().clone(),
                None => name.parse().map_err(err)?,
            };
            Ok((
                Some(Assignment {
                    profile: ConfProfile::Named(profile),
                    allow_nesting: ct.apparmor_manages_nesting.unwrap_or(false),
                }),
                None,
            ))
        }
    }
}
