//! `phoenix doctor`: the host facts phoenix depends on, each judged `ok`, `warn` or
//! `fail` with a reason.
//!
//! | check      | read from                                   | judged against |
//! | ---------- | ------------------------------------------- | -------------- |
//! | `pve`      | `pveversion`                                | absent: not a Proxmox host (warn) |
//! | `kernel`   | `uname -r`                                  | 5.11 for overlayfs in user namespaces |
//! | `cgroup`   | `/sys/fs/cgroup`                            | v2 (Proxmox VE 7 and later) |
//! | `apparmor` | `/sys/module/apparmor/parameters/enabled`   | `Y`, else profiles are not enforced |
//! | `lxc-pve`  | `dpkg-query -W lxc-pve`                     | 6.0.5-2 (Docker with containerd 1.7.28-2+) |
//! | `zfs`      | `/sys/module/zfs/version`                   | 2.2 (overlay2 on a ZFS rootfs) |
//! | `storage`  | `pvesm status`, `/etc/pve/storage.cfg`      | the fleet's pools exist, are active, hold rootdir |
//! | `bridges`  | `/sys/class/net/*/bridge`                   | the fleet's bridges exist |
//! | `subid`    | `/etc/subuid`, `/etc/subgid`                | root holds the fleet's host ranges |
//! | `fleet`    | the config directory (phoenix-config)       | it loads and validates |
//!
//! Files are read under a root and commands run through phoenix-pct's `CommandRunner`
//! ([`RootHost`]), so tests use a temporary root and a `RecordingRunner`.
//!
//! ```
//! use phoenix_doctor::{FleetSource, RootHost, Verdict, diagnose};
//! use phoenix_pct::{Output, Pattern, RecordingRunner};
//!
//! let root = tempfile::tempdir().unwrap();
//! std::fs::create_dir_all(root.path().join("sys/fs/cgroup")).unwrap();
//! std::fs::write(root.path().join("sys/fs/cgroup/cgroup.controllers"), "cpu memory\n").unwrap();
//! let runner = RecordingRunner::new()
//!     .answer(Pattern::exact(["uname", "-r"]), Output::ok("6.8.12-1-pve\n"));
//! let report = diagnose(&RootHost::new(root.path(), &runner, None), &FleetSource::None);
//! let verdict = |name: &str| report.checks.iter().find(|c| c.name == name).unwrap().verdict;
//! assert_eq!(verdict("kernel"), Verdict::Ok);
//! assert_eq!(verdict("cgroup"), Verdict::Ok);
//! assert_eq!(verdict("pve"), Verdict::Warn); // pveversion did not run
//! assert_eq!(verdict("storage"), Verdict::Fail); // neither did pvesm
//! ```

#![deny(missing_docs)]

pub mod checks;
pub mod facts;
pub mod report;
pub mod version;

pub use checks::fleet::FleetNeeds;
pub use facts::{CommandOutput, HostFacts, RootHost};
pub use phoenix_config::Fleet;
pub use report::{Check, Report, Verdict};

/// Where the fleet's needs come from.
#[derive(Debug, Clone)]
pub enum FleetSource<'a> {
    /// No config directory was given or found: host facts only.
    None,
    /// The directory does not exist.
    Missing(String),
    /// The directory's config does not load or validate.
    Invalid {
        /// The directory.
        dir: String,
        /// Why, in a sentence (the first error).
        error: String,
    },
    /// A valid fleet.
    Loaded {
        /// The directory.
        dir: String,
        /// The fleet.
        fleet: &'a Fleet,
    },
}

fn fleet_check(source: &FleetSource<'_>, needs: Option<&FleetNeeds>) -> Check {
    match (source, needs) {
        (FleetSource::Loaded { dir, .. }, Some(n)) => Check::new(
            "fleet",
            Verdict::Ok,
            format!("{} container(s) in {dir}", n.containers),
            "storage, bridges and subid are checked against this fleet",
        ),
        (FleetSource::Missing(dir), _) => Check::new(
            "fleet",
            Verdict::Warn,
            format!("no config directory at {dir}"),
            "host facts only: the fleet's pools, bridges and id ranges are not checked",
        ),
        (FleetSource::Invalid { dir, error }, _) => Check::new(
            "fleet",
            Verdict::Fail,
            format!("invalid config in {dir}"),
            error.clone(),
        ),
        _ => Check::new(
            "fleet",
            Verdict::Warn,
            "none",
            "host facts only: the fleet's pools, bridges and id ranges are not checked",
        ),
    }
}

/// Runs every check.
pub fn diagnose(h: &dyn HostFacts, source: &FleetSource<'_>) -> Report {
    let needs = match source {
        FleetSource::Loaded { dir, fleet } => Some(FleetNeeds::of(fleet, dir)),
        _ => None,
    };
    let (storage, zfs_used) = checks::fleet::storage(h, needs.as_ref());
    Report::new(vec![
        checks::host::pve(h),
        checks::host::kernel(h),
        checks::host::cgroup(h),
        checks::host::apparmor(h),
        checks::host::lxc_pve(h),
        checks::host::zfs(h, zfs_used),
        storage,
        checks::fleet::bridges(h, needs.as_ref()),
        checks::fleet::subid(h, needs.as_ref()),
        fleet_check(source, needs.as_ref()),
    ])
}
