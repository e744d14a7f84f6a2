//! Installing profiles and the tunable under a root, then reloading what changed.
//!
//! [`plan`] reads the current files and decides what would change (nothing is
//! written; `--dry-run` stops here). [`apply`] checks nothing changed since the plan
//! read it, writes only the changed files (temp file in the same directory, then
//! rename), and reloads through a [`ProfileLoader`] only the profiles whose text
//! changed, plus those including `tunables/nesting` when it changed. A second run
//! writes nothing and reloads nothing.
//!
//! Layout under the root:
//!
//! ```text
//! <root>/etc/apparmor.d/lxc/<profile>      (included by Proxmox's lxc-containers)
//! <root>/etc/apparmor.d/tunables/nesting
//! <root>/etc/apparmor.d/tunables/home.d/phoenix-nesting   (see crate::tunable)
//! ```

mod fs;
mod loader;

use std::collections::BTreeSet;

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::model::Profile;
use crate::names::ProfileName;
use crate::render::render_profile;
use crate::tunable::{edit_tunable, nesting_definition, render_hook};

use fs::{read_optional, write_atomic};
pub use loader::{LoadError, ProfileLoader};
use phoenix_hostpath::resolve_beneath;

/// Where profiles go, relative to the root.
pub const PROFILE_DIR: &str = "etc/apparmor.d/lxc";
/// Where the nesting tunable goes, relative to the root.
pub const TUNABLE_FILE: &str = "etc/apparmor.d/tunables/nesting";
/// Where the hook that defines the variable early goes, relative to the root.
pub const TUNABLE_HOOK_FILE: &str = "etc/apparmor.d/tunables/home.d/phoenix-nesting";

/// Why installing failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// Reading a current file failed.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: Utf8PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing a file failed.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: Utf8PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file changed between planning and applying; nothing was written.
    #[error("{path} changed since it was read; nothing was written, run install again")]
    ChangedSinceRead {
        /// The file.
        path: Utf8PathBuf,
    },
    /// Two profiles of one install share a name.
    #[error("profile {name} is listed twice")]
    DuplicateProfile {
        /// The name.
        name: ProfileName,
    },
    /// A file's path leads out of the root through a symlink or `..`: phoenix writes
    /// profiles as root and never through a link that leaves `--root`.
    #[error("refusing to install")]
    Escape(#[source] phoenix_hostpath::EscapeError),
    /// Asking the loader whether AppArmor is available failed.
    #[error("cannot tell whether profiles can be loaded")]
    Probe(#[source] LoadError),
}

/// What a planned file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A profile.
    Profile,
    /// `tunables/nesting`.
    Tunable,
    /// `tunables/home.d/phoenix-nesting`.
    TunableHook,
}

/// What the plan would do to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// It does not exist yet.
    Create,
    /// It exists with other content.
    Update,
    /// It already has the wanted content.
    Unchanged,
}

/// One file of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFile {
    /// Where it goes (under the root).
    pub path: Utf8PathBuf,
    /// Profile or tunable.
    pub kind: FileKind,
    /// The profile's name, for profiles.
    pub profile: Option<ProfileName>,
    /// What would happen.
    pub change: Change,
    /// Whether the profile includes `tunables/nesting`.
    #[serde(skip)]
    pub uses_tunable: bool,
    /// The content read when planning (`None`: the file did not exist).
    #[serde(skip)]
    pub previous: Option<String>,
    /// The wanted content.
    #[serde(skip)]
    pub content: String,
}

/// Which files would change, computed without writing anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallPlan {
    /// The tunable and its hook first, then the profiles in the order given.
    pub files: Vec<PlannedFile>,
}

impl InstallPlan {
    /// The files that would be written.
    pub fn changed(&self) -> impl Iterator<Item = &PlannedFile> {
        self.files.iter().filter(|f| f.change != Change::Unchanged)
    }

    /// The profile files to reload after writing: changed ones, and every profile
    /// including the tunable when the tunable changes.
    pub fn to_reload(&self) -> Vec<Utf8PathBuf> {
        let tunable_changed = self.files.iter().any(|f| {
            matches!(f.kind, FileKind::Tunable | FileKind::TunableHook)
                && f.change != Change::Unchanged
        });
        self.files
            .iter()
            .filter(|f| f.kind == FileKind::Profile)
            .filter(|f| f.change != Change::Unchanged || tunable_changed && f.uses_tunable)
            .map(|f| f.path.clone())
            .collect()
    }
}

/// What happened to the kernel's policy.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Reload {
    /// No profile changed.
    NotNeeded,
    /// Profiles changed but this host cannot load them.
    Skipped {
        /// Why, for the user.
        reason: String,
        /// The files that would have been reloaded.
        pending: Vec<Utf8PathBuf>,
    },
    /// Profiles were reloaded.
    Done {
        /// Reloaded successfully.
        reloaded: Vec<Utf8PathBuf>,
        /// Failed to reload (the files are written).
        failed: Vec<ReloadFailure>,
    },
}

/// A profile that was written but could not be loaded.
#[derive(Debug, Serialize)]
pub struct ReloadFailure {
    /// The profile file.
    pub path: Utf8PathBuf,
    /// Why, as text.
    pub error: String,
}

/// The outcome of [`apply`].
#[derive(Debug, Serialize)]
pub struct InstallReport {
    /// The files written.
    pub written: Vec<Utf8PathBuf>,
    /// What happened to the kernel's policy.
    pub reload: Reload,
}

impl InstallReport {
    /// True when some profile failed to load.
    pub fn has_failures(&self) -> bool {
        matches!(&self.reload, Reload::Done { failed, .. } if !failed.is_empty())
    }
}

/// The path of a profile file under `root`.
pub fn profile_path(root: &Utf8Path, name: &ProfileName) -> Utf8PathBuf {
    root.join(PROFILE_DIR).join(name.as_str())
}

/// Plans installing `profiles` and the nesting tunable under `root`. Reads only.
///
/// Every path is resolved beneath `root` ([`phoenix_hostpath::resolve_beneath`]): a
/// symlinked `etc/apparmor.d/lxc` that leads out of the root is refused
/// ([`InstallError::Escape`]), and the planned paths hold no symlink.
pub fn plan(root: &Utf8Path, profiles: &[Profile]) -> Result<InstallPlan, InstallError> {
    let mut seen = BTreeSet::new();
    for p in profiles {
        if !seen.insert(p.name.clone()) {
            return Err(InstallError::DuplicateProfile {
                name: p.name.clone(),
            });
        }
    }
    let mut files = Vec::with_capacity(profiles.len() + 1);
    let beneath = |rel: &Utf8Path| resolve_beneath(root, rel).map_err(InstallError::Escape);
    let tunable_path = beneath(Utf8Path::new(TUNABLE_FILE))?;
    let previous = read_optional(&tunable_path)?;
    let content = edit_tunable(previous.as_deref(), &nesting_definition());
    files.push(planned(
        tunable_path,
        FileKind::Tunable,
        None,
        false,
        previous,
        content,
    ));
    let hook_path = beneath(Utf8Path::new(TUNABLE_HOOK_FILE))?;
    let previous = read_optional(&hook_path)?;
    files.push(planned(
        hook_path,
        FileKind::TunableHook,
        None,
        false,
        previous,
        render_hook(),
    ));
    for p in profiles {
        let path = beneath(&Utf8Path::new(PROFILE_DIR).join(p.name.as_str()))?;
        let previous = read_optional(&path)?;
        let content = render_profile(p);
        files.push(planned(
            path,
            FileKind::Profile,
            Some(p.name.clone()),
            p.uses_nesting_tunable(),
            previous,
            content,
        ));
    }
    Ok(InstallPlan { files })
}

fn planned(
    path: Utf8PathBuf,
    kind: FileKind,
    profile: Option<ProfileName>,
    uses_tunable: bool,
    previous: Option<String>,
    content: String,
) -> PlannedFile {
    let change = match &previous {
        None => Change::Create,
        Some(old) if *old == content => Change::Unchanged,
        Some(_) => Change::Update,
    };
    PlannedFile {
        path,
        kind,
        profile,
        change,
        uses_tunable,
        previous,
        content,
    }
}

/// Writes the plan's changed files and reloads what changed.
///
/// Before writing anything, every changed file is read again and compared with what
/// the plan read; if one differs, nothing is written.
pub fn apply(
    plan: &InstallPlan,
    loader: &dyn ProfileLoader,
) -> Result<InstallReport, InstallError> {
    for file in plan.changed() {
        if read_optional(&file.path)? != file.previous {
            return Err(InstallError::ChangedSinceRead {
                path: file.path.clone(),
            });
        }
    }
    let mut written = Vec::new();
    for file in plan.changed() {
        write_atomic(&file.path, &file.content)?;
        written.push(file.path.clone());
    }
    let pending = plan.to_reload();
    let reload = if pending.is_empty() {
        Reload::NotNeeded
    } else if !loader.available().map_err(InstallError::Probe)? {
        Reload::Skipped {
            reason: "apparmor is not enabled on this host or apparmor_parser is missing".to_owned(),
            pending,
        }
    } else {
        let mut reloaded = Vec::new();
        let mut failed = Vec::new();
        for path in pending {
            match loader.replace(&path) {
                Ok(()) => reloaded.push(path),
                Err(e) => failed.push(ReloadFailure {
                    error: error_chain(&e),
                    path,
                }),
            }
        }
        Reload::Done { reloaded, failed }
    };
    Ok(InstallReport { written, reload })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_name_the_file_and_what_to_do() {
        let path = Utf8PathBuf::from("/r/etc/apparmor.d/lxc/x");
        let io = || std::io::Error::other("boom");
        assert_eq!(
            InstallError::Read {
                path: path.clone(),
                source: io()
            }
            .to_string(),
            "cannot read /r/etc/apparmor.d/lxc/x"
        );
        assert_eq!(
            InstallError::Write {
                path: path.clone(),
                source: io()
            }
            .to_string(),
            "cannot write /r/etc/apparmor.d/lxc/x"
        );
        assert_eq!(
            InstallError::ChangedSinceRead { path: path.clone() }.to_string(),
            "/r/etc/apparmor.d/lxc/x changed since it was read; nothing was written, run install again"
        );
        assert_eq!(
            InstallError::DuplicateProfile {
                name: "lxc-a".parse().unwrap()
            }
            .to_string(),
            "profile lxc-a is listed twice"
        );
        let probe = LoadError::Probe {
            path: "/sys/module/apparmor/parameters/enabled".into(),
            source: io(),
        };
        assert_eq!(
            probe.to_string(),
            "cannot read /sys/module/apparmor/parameters/enabled to tell whether apparmor is enabled"
        );
        assert_eq!(
            InstallError::Probe(probe).to_string(),
            "cannot tell whether profiles can be loaded"
        );
        assert_eq!(
            LoadError::Failed {
                argv: "apparmor_parser -r /x".into(),
                status: "exit code 1".into(),
                stderr: "syntax error".into()
            }
            .to_string(),
            "`apparmor_parser -r /x` failed with exit code 1: syntax error"
        );
        let run = LoadError::Run {
            argv: "apparmor_parser -r /x".into(),
            source: Box::new(io()),
        };
        assert_eq!(run.to_string(), "cannot run `apparmor_parser -r /x`");
        assert_eq!(
            error_chain(&run),
            "cannot run `apparmor_parser -r /x`: boom"
        );
    }
}
