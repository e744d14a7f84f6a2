//! Actions: what a step will do, computed from desired and observed state before any
//! of it is done. `phoenix plan` prints them; `phoenix up` prints and performs them.

use std::fmt;

use camino::Utf8PathBuf;
use serde::Serialize;

/// The workflow steps, in the order they run for each container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Host prerequisites: subuid/subgid, storage pools, AppArmor profiles.
    Host,
    /// Create or clone the container.
    Define,
    /// Bring its options and raw `lxc.*` lines to the desired values.
    Configure,
    /// Compute and check the effective idmap.
    Idmap,
    /// Shared volumes and bind mounts: host directories, owners, modes.
    Volumes,
    /// Start it.
    Start,
    /// Prove the idmap and the volumes from inside.
    Verify,
    /// Features, then the template snapshot.
    Customize,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Step::Host => "host",
            Step::Define => "define",
            Step::Configure => "configure",
            Step::Idmap => "idmap",
            Step::Volumes => "volumes",
            Step::Start => "start",
            Step::Verify => "verify",
            Step::Customize => "customize",
        })
    }
}

/// Whether an action creates something, changes something, or only checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Makes something that does not exist yet.
    Create,
    /// Changes something that exists.
    Change,
    /// Already as desired: nothing to do.
    NoOp,
    /// A command that only looks (the proof after start): changes nothing the
    /// config describes.
    Check,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Change::Create => "create",
            Change::Change => "change",
            Change::NoOp => "no-op",
            Change::Check => "check",
        })
    }
}

/// What an action does, precisely enough to review before running it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Detail {
    /// A command, as the exact argv.
    Command {
        /// Program and arguments.
        argv: Vec<String>,
    },
    /// A line-level edit of a file.
    FileEdit {
        /// The file (as on the host, not prefixed with the root).
        path: Utf8PathBuf,
        /// Lines added.
        added: Vec<String>,
        /// Lines removed.
        removed: Vec<String>,
    },
    /// A host directory with its owner and mode.
    Directory {
        /// The directory (as on the host).
        path: Utf8PathBuf,
        /// Host uid it must belong to.
        uid: u32,
        /// Host gid it must belong to.
        gid: u32,
        /// Permission bits.
        mode: u32,
        /// What differs now (`missing`, `owner 0:0`, `mode 0700`), empty for a no-op.
        differs: Vec<String>,
    },
    /// A check with nothing to change.
    Note {
        /// What is checked or why nothing is done.
        text: String,
    },
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Detail::Command { argv } => f.write_str(&argv.join(" ")),
            Detail::FileEdit {
                path,
                added,
                removed,
            } => {
                write!(f, "edit {path}")?;
                for l in removed {
                    write!(f, "\n      - {l}")?;
                }
                for l in added {
                    write!(f, "\n      + {l}")?;
                }
                Ok(())
            }
            Detail::Directory {
                path,
                uid,
                gid,
                mode,
                differs,
            } => {
                write!(f, "directory {path} owner {uid}:{gid} mode {mode:04o}")?;
                if !differs.is_empty() {
                    write!(f, " (now: {})", differs.join(", "))?;
                }
                Ok(())
            }
            Detail::Note { text } => f.write_str(text),
        }
    }
}

/// One planned action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    /// The step it belongs to.
    pub step: Step,
    /// Create, change or no-op.
    pub change: Change,
    /// What it does.
    pub detail: Detail,
    /// Why: the differences it removes (`memory: 64 -> 96`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

impl Action {
    /// A pct (or other) command that creates something.
    pub fn command(step: Step, change: Change, argv: Vec<String>) -> Self {
        Action {
            step,
            change,
            detail: Detail::Command { argv },
            why: Vec::new(),
        }
    }

    /// A no-op with an explanation.
    pub fn note(step: Step, text: impl Into<String>) -> Self {
        Action {
            step,
            change: Change::NoOp,
            detail: Detail::Note { text: text.into() },
            why: Vec::new(),
        }
    }

    /// True when it changes something.
    pub fn mutates(&self) -> bool {
        matches!(self.change, Change::Create | Change::Change)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<9} {:<6} {}", self.step, self.change, self.detail)?;
        for w in &self.why {
            write!(f, "\n      # {w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_render_step_change_and_exact_argv() {
        let a = Action::command(
            Step::Define,
            Change::Create,
            vec!["pct".into(), "start".into(), "900".into()],
        );
        assert_eq!(a.to_string(), "define    create pct start 900");
        let e = Action {
            step: Step::Configure,
            change: Change::Change,
            detail: Detail::FileEdit {
                path: "/etc/pve/lxc/900.conf".into(),
                added: vec!["lxc.apparmor.profile: lxc-phoenix-v2".into()],
                removed: vec![],
            },
            why: vec![],
        };
        assert_eq!(
            e.to_string(),
            "configure change edit /etc/pve/lxc/900.conf\n      + lxc.apparmor.profile: lxc-phoenix-v2"
        );
        let d = Detail::Directory {
            path: "/srv/x".into(),
            uid: 100000,
            gid: 100000,
            mode: 0o755,
            differs: vec!["missing".into()],
        };
        assert_eq!(
            d.to_string(),
            "directory /srv/x owner 100000:100000 mode 0755 (now: missing)"
        );
    }
}
