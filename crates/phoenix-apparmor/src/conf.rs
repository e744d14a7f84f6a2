//! Setting a container's AppArmor profile in its Proxmox conf, through
//! phoenix-idmap's lossless conf editing:
//!
//! ```text
//! lxc.apparmor.profile: lxc-docker-secure
//! lxc.apparmor.allow_nesting: 1
//! ```
//!
//! Each key ends up on exactly one line however many times it is applied; stale
//! duplicates the old bash scripts appended are removed.
//!
//! ```
//! use phoenix_apparmor::conf::{apply_to_conf, Assignment};
//! use phoenix_apparmor::ShippedProfile;
//! use phoenix_pveconf::conf::CtConf;
//!
//! let mut conf = CtConf::parse("memory: 512\nlxc.apparmor.profile=unconfined\nlxc.apparmor.profile=unconfined\n").conf;
//! let a = Assignment::shipped(ShippedProfile::DockerSecure);
//! assert!(apply_to_conf(&mut conf, &a).unwrap());
//! assert!(!apply_to_conf(&mut conf, &a).unwrap());
//! assert_eq!(conf.render(), "memory: 512\nlxc.apparmor.profile=lxc-docker-secure\nlxc.apparmor.allow_nesting: 1\n");
//! ```

use phoenix_pveconf::conf::{CtConf, EditError};

use crate::names::ProfileName;
use crate::shipped::ShippedProfile;

/// The conf key naming the profile.
pub const PROFILE_KEY: &str = "lxc.apparmor.profile";
/// The conf key letting the container nest.
pub const NESTING_KEY: &str = "lxc.apparmor.allow_nesting";

/// Which profile a container runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfProfile {
    /// A named profile (shipped, per-container or the host's).
    Named(ProfileName),
    /// No confinement. Only when the config asks for it by name; phoenix never
    /// chooses it.
    Unconfined,
}

impl std::str::FromStr for ConfProfile {
    type Err = crate::error::ModelError;

    /// Reads the config's `apparmor_profile`: the word `unconfined`, or a profile name.
    ///
    /// ```
    /// use phoenix_apparmor::conf::ConfProfile;
    /// assert_eq!("unconfined".parse::<ConfProfile>().unwrap(), ConfProfile::Unconfined);
    /// assert!("lxc-phoenix-v2".parse::<ConfProfile>().unwrap().is_confined());
    /// assert!("lxc phoenix".parse::<ConfProfile>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "unconfined" {
            Ok(ConfProfile::Unconfined)
        } else {
            s.parse().map(ConfProfile::Named)
        }
    }
}

impl ConfProfile {
    /// False for `unconfined`, which `phoenix validate` should warn about.
    pub fn is_confined(&self) -> bool {
        !matches!(self, ConfProfile::Unconfined)
    }

    /// The value written to `lxc.apparmor.profile`.
    pub fn as_str(&self) -> &str {
        match self {
            ConfProfile::Named(n) => n.as_str(),
            ConfProfile::Unconfined => "unconfined",
        }
    }
}

/// The AppArmor settings of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The profile.
    pub profile: ConfProfile,
    /// Whether to write `lxc.apparmor.allow_nesting: 1`. When false, an existing
    /// `allow_nesting` line is removed, so the conf says what the config says.
    pub allow_nesting: bool,
}

impl Assignment {
    /// A shipped profile, nesting as the profile manages it.
    pub fn shipped(p: ShippedProfile) -> Self {
        Assignment {
            profile: ConfProfile::Named(p.name()),
            allow_nesting: p.manages_nesting(),
        }
    }
}

/// Why the conf could not be edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot set {key} in the container conf")]
pub struct ConfApplyError {
    /// The key being set.
    pub key: &'static str,
    /// The conf editor's reason.
    #[source]
    pub source: EditError,
}

/// Sets the profile (and nesting) in the conf's current section. Returns whether the
/// text changed.
pub fn apply_to_conf(conf: &mut CtConf, a: &Assignment) -> Result<bool, ConfApplyError> {
    let before = conf.render();
    conf.set_lxc_unique(PROFILE_KEY, a.profile.as_str())
        .map_err(|source| ConfApplyError {
            key: PROFILE_KEY,
            source,
        })?;
    if a.allow_nesting {
        conf.set_lxc_unique(NESTING_KEY, "1")
            .map_err(|source| ConfApplyError {
                key: NESTING_KEY,
                source,
            })?;
    } else {
        conf.remove_lxc(NESTING_KEY);
    }
    Ok(conf.render() != before)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(text: &str, key: &str) -> usize {
        text.lines().filter(|l| l.starts_with(key)).count()
    }

    #[test]
    fn applying_twice_leaves_one_line_of_each_kind() {
        let src = "arch: amd64\nlxc.apparmor.profile: unconfined\nlxc.apparmor.allow_nesting: 1\nlxc.apparmor.profile: unconfined\nlxc.apparmor.allow_nesting: 1\n[snap1]\nlxc.apparmor.profile: unconfined\n";
        let mut conf = CtConf::parse(src).conf;
        let a = Assignment::shipped(ShippedProfile::DockerSecure);
        assert!(apply_to_conf(&mut conf, &a).unwrap());
        let once = conf.render();
        assert!(!apply_to_conf(&mut conf, &a).unwrap());
        assert_eq!(conf.render(), once);
        let main = once.split("[snap1]").next().unwrap();
        assert_eq!(count(main, "lxc.apparmor.profile"), 1);
        assert_eq!(count(main, "lxc.apparmor.allow_nesting"), 1);
        assert!(main.contains("lxc.apparmor.profile: lxc-docker-secure\n"));
        // Snapshots keep what they recorded.
        assert!(once.ends_with("[snap1]\nlxc.apparmor.profile: unconfined\n"));
    }

    #[test]
    fn a_profile_without_nesting_removes_a_stale_allow_nesting() {
        let mut conf = CtConf::parse("lxc.apparmor.allow_nesting: 1\n").conf;
        apply_to_conf(&mut conf, &Assignment::shipped(ShippedProfile::PhoenixV2)).unwrap();
        assert_eq!(conf.render(), "lxc.apparmor.profile: lxc-phoenix-v2\n");
    }

    #[test]
    fn unconfined_is_written_only_when_asked_for() {
        let mut conf = CtConf::new();
        let a = Assignment {
            profile: ConfProfile::Unconfined,
            allow_nesting: true,
        };
        apply_to_conf(&mut conf, &a).unwrap();
        assert_eq!(
            conf.render(),
            "lxc.apparmor.profile: unconfined\nlxc.apparmor.allow_nesting: 1\n"
        );
    }

    #[test]
    fn the_error_names_the_key() {
        let err = ConfApplyError {
            key: PROFILE_KEY,
            source: EditError::Value {
                key: PROFILE_KEY.to_owned(),
                reason: "values cannot be empty",
            },
        };
        assert_eq!(
            err.to_string(),
            "cannot set lxc.apparmor.profile in the container conf"
        );
    }
}
