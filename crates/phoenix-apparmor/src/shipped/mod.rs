//! The profiles phoenix ships, each rule with the reason it is there.
//!
//! They build on lxc's `abstractions/lxc/container-base`, which already grants
//! `file,`, `network,` and `capability,` inside the container and denies the
//! host-wide `/proc` and `/sys` paths. phoenix's additions are mostly denies
//! (AppArmor applies every deny before any allow, whatever the order) and a few
//! mounts. All three share the hardening rules, so `change_profile` between them
//! (through `@{apparmor_nesting_profiles}`) can never widen what a process may do.

mod rules;

use std::fmt;

use crate::model::Profile;
use crate::names::ProfileName;
use crate::tunable::NESTING_TUNABLE_INCLUDE;
use crate::vocab::ProfileFlag;

use rules::{docker_entries, gpu_entries, name, v2_entries};

/// A profile phoenix ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShippedProfile {
    /// `lxc-phoenix-v2`: the base for unprivileged containers.
    PhoenixV2,
    /// `lxc-docker-secure`: Docker inside an unprivileged, nesting container.
    DockerSecure,
    /// `lxc-phoenix-gpu`: the base plus the NVIDIA device nodes.
    PhoenixGpu,
}

impl ShippedProfile {
    /// Every shipped profile, in the order `phoenix apparmor list` shows them.
    pub const ALL: [ShippedProfile; 3] = [
        ShippedProfile::PhoenixV2,
        ShippedProfile::DockerSecure,
        ShippedProfile::PhoenixGpu,
    ];

    /// The profile name, as written in `lxc.apparmor.profile`.
    pub fn name_str(self) -> &'static str {
        match self {
            ShippedProfile::PhoenixV2 => "lxc-phoenix-v2",
            ShippedProfile::DockerSecure => "lxc-docker-secure",
            ShippedProfile::PhoenixGpu => "lxc-phoenix-gpu",
        }
    }

    /// The profile name as a typed value.
    pub fn name(self) -> ProfileName {
        name(self.name_str())
    }

    /// One line on what the profile is for.
    pub fn description(self) -> &'static str {
        match self {
            ShippedProfile::PhoenixV2 => {
                "base for unprivileged containers: lxc container-base, block filesystem mounts, fuse-overlayfs for Docker storage, sensitive /proc and /sys denied"
            }
            ShippedProfile::DockerSecure => {
                "Docker in an unprivileged nesting container: overlay, proc, sys and cgroup mounts for nested runtimes, no mac_admin, mac_override, sys_module or sys_rawio"
            }
            ShippedProfile::PhoenixGpu => "lxc-phoenix-v2 plus the NVIDIA device nodes",
        }
    }

    /// True when containers using it should get `lxc.apparmor.allow_nesting: 1`.
    pub fn manages_nesting(self) -> bool {
        matches!(self, ShippedProfile::DockerSecure)
    }

    /// Finds a shipped profile by name.
    ///
    /// ```
    /// use phoenix_apparmor::ShippedProfile;
    /// assert_eq!(ShippedProfile::find("lxc-docker-secure"), Some(ShippedProfile::DockerSecure));
    /// assert_eq!(ShippedProfile::find("lxc-default"), None);
    /// ```
    pub fn find(name: &str) -> Option<ShippedProfile> {
        Self::ALL.into_iter().find(|p| p.name_str() == name)
    }

    /// Builds the profile.
    pub fn profile(self) -> Profile {
        match self {
            ShippedProfile::PhoenixV2 => phoenix_v2(),
            ShippedProfile::DockerSecure => docker_secure(),
            ShippedProfile::PhoenixGpu => phoenix_gpu(),
        }
    }
}

impl fmt::Display for ShippedProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_str())
    }
}

/// Every shipped profile, built.
pub fn all() -> Vec<Profile> {
    ShippedProfile::ALL.iter().map(|p| p.profile()).collect()
}

/// `lxc-phoenix-v2`.
pub fn phoenix_v2() -> Profile {
    Profile {
        name: ShippedProfile::PhoenixV2.name(),
        summary: "lxc-phoenix-v2: phoenix's base profile for unprivileged containers.\n\
                  lxc's container-base, the block filesystem mounts of\n\
                  lxc-container-default-with-mounting, fuse-overlayfs for Docker storage,\n\
                  and denies for sensitive /proc and /sys paths. It has no change_profile\n\
                  rule: only lxc-docker-secure, which manages nesting, may switch profiles."
            .into(),
        preamble: vec!["tunables/global".parse().expect("valid include")],
        flags: container_flags(),
        entries: v2_entries(),
    }
}

/// `lxc-docker-secure`.
pub fn docker_secure() -> Profile {
    let mut entries = v2_entries();
    entries.extend(docker_entries());
    Profile {
        name: ShippedProfile::DockerSecure.name(),
        summary: "lxc-docker-secure: Docker inside an unprivileged container with nesting.\n\
                  lxc-phoenix-v2 plus the overlay, proc, sysfs, devpts and cgroup2 mounts a\n\
                  nested runtime makes in its container roots, and change_profile to the\n\
                  profiles nested runtimes use. Keeps every hardening rule of the base:\n\
                  no mac_admin, mac_override, sys_module or sys_rawio, no writes to\n\
                  /proc/sys/kernel or /sys/kernel/security, binfmt_misc denied."
            .into(),
        preamble: vec![
            "tunables/global".parse().expect("valid include"),
            NESTING_TUNABLE_INCLUDE.parse().expect("valid include"),
        ],
        flags: container_flags(),
        entries,
    }
}

/// `lxc-phoenix-gpu`.
pub fn phoenix_gpu() -> Profile {
    let mut entries = v2_entries();
    entries.extend(gpu_entries());
    Profile {
        name: ShippedProfile::PhoenixGpu.name(),
        summary: "lxc-phoenix-gpu: lxc-phoenix-v2 plus the NVIDIA device nodes.\n\
                  container-base's `file,` already reaches them; the rules below name\n\
                  each node so the GPU dependency is visible and survives a narrower base.\n\
                  Which devices exist and may be opened is still decided by the\n\
                  container's lxc.mount.entry and lxc.cgroup2.devices.allow lines."
            .into(),
        preamble: vec!["tunables/global".parse().expect("valid include")],
        flags: container_flags(),
        entries,
    }
}

fn container_flags() -> Vec<ProfileFlag> {
    // A container's root is not the host's: paths resolved from it are "disconnected"
    // and must be attached rather than refused; deleted-but-open files are mediated
    // by their former path. Both are what lxc's own profiles use.
    vec![ProfileFlag::AttachDisconnected, ProfileFlag::MediateDeleted]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::render_profile;

    #[test]
    fn every_shipped_profile_builds_and_is_found_by_name() {
        for p in ShippedProfile::ALL {
            let profile = p.profile();
            assert_eq!(profile.name.as_str(), p.name_str());
            assert_eq!(ShippedProfile::find(p.name_str()), Some(p));
            assert!(profile.entries.iter().all(|e| !e.why.trim().is_empty()));
        }
    }

    #[test]
    fn no_shipped_profile_can_switch_to_unconfined_or_keep_mac_admin() {
        for p in all() {
            let text = render_profile(&p);
            assert!(!text.contains("-> unconfined"), "{}", p.name);
            assert!(
                text.contains("audit deny capability mac_admin,"),
                "{}",
                p.name
            );
            assert!(
                text.contains("audit deny capability sys_module,"),
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn only_the_nesting_profile_uses_the_tunable() {
        assert!(docker_secure().uses_nesting_tunable());
        assert!(!phoenix_v2().uses_nesting_tunable());
        assert!(!phoenix_gpu().uses_nesting_tunable());
        assert!(
            render_profile(&docker_secure())
                .contains("change_profile -> @{apparmor_nesting_profiles},")
        );
        assert!(!render_profile(&phoenix_v2()).contains("\n  change_profile"));
    }
}
