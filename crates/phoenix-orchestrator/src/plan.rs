//! The plan: a value computed from desired and observed state before anything is done.
//!
//! A [`Plan`] holds host steps and, per guest, ordered [`PlannedStep`]s. Each step is a
//! typed operation ([`Op`]: create, clone, set, start, snapshot, a conf edit, a host
//! directory, a proof inside the guest, a feature install, a note) with its change kind
//! and reason. A backend renders an operation: as the exact `pct` argv on the node
//! today, as PVE API calls for a cluster later. Operation parameters are Proxmox's own
//! (the same `key: value` schema `pct` and `/nodes/{node}/lxc` take), so no backend
//! needs to understand phoenix's config.
//!
//! The plan records the digest of every conf and host file it read ([`FileRead`]):
//! `phoenix apply plan.json` refuses a plan when any of them changed. Its JSON is
//! stable and versioned ([`PLAN_FORMAT`]); see `docs/plan-format.md`.

use std::collections::BTreeMap;
use std::fmt;

use camino::Utf8PathBuf;
use serde::{Deserialize, Serialize};

use crate::error::ErrorReport;
use crate::guest::GuestId;

/// The format tag of a saved plan; a plan of another format is refused.
pub const PLAN_FORMAT: &str = "phoenix-plan/1";

/// The phases of a guest's convergence, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Host prerequisites: subuid/subgid, storage pools, AppArmor profiles.
    Host,
    /// Compute and check the effective idmap.
    Idmap,
    /// Shared volumes and bind mounts: host directories, owners, modes.
    Volumes,
    /// Create or clone the guest.
    Define,
    /// Bring its options and raw `lxc.*` lines to the desired values.
    Configure,
    /// Start it.
    Start,
    /// Prove the idmap and the volumes from inside.
    Verify,
    /// Features (in dependency order), the application script, the test suites, then
    /// the template snapshot clones are made from.
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

/// Whether a step creates something, changes something, or only checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Makes something that does not exist yet.
    Create,
    /// Changes something that exists.
    Change,
    /// Already as desired: nothing to do.
    NoOp,
    /// Only looks (the proof after start): changes nothing the config describes.
    Check,
}

impl Change {
    /// True for create and change.
    pub fn mutates(self) -> bool {
        matches!(self, Change::Create | Change::Change)
    }
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

/// Whether a feature step installs or only verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeatureAction {
    /// Probe, install when the probe finds it missing, verify, record in the ledger.
    Install,
    /// Probe and verify (`--verify`), install only when the probe finds it missing.
    Verify,
}

/// One typed operation. Parameters are Proxmox's (`key -> value`), rendered by a backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// `pct create <vmid> <ostemplate> --key value ...` (`POST /nodes/{node}/lxc`).
    Create {
        /// The new container.
        vmid: u32,
        /// Volume id or absolute path of the OS template.
        ostemplate: String,
        /// Every option, `unprivileged` included.
        params: BTreeMap<String, String>,
    },
    /// `pct clone <source> <vmid> --key value ...` (`POST .../lxc/{source}/clone`).
    Clone {
        /// The source container.
        source: u32,
        /// The new container.
        vmid: u32,
        /// `hostname`, `snapname`, ...
        params: BTreeMap<String, String>,
    },
    /// `pct set <vmid> --key value ... --delete k,...` (`PUT .../lxc/{vmid}/config`).
    Set {
        /// The container.
        vmid: u32,
        /// Options to set.
        params: BTreeMap<String, String>,
        /// Options to delete.
        delete: Vec<String>,
    },
    /// `pct start <vmid>`.
    Start {
        /// The container.
        vmid: u32,
    },
    /// `pct snapshot <vmid> <name>`.
    Snapshot {
        /// The container.
        vmid: u32,
        /// The snapshot's name.
        name: String,
    },
    /// Raw `lxc.*` lines edited in the conf file on the node (root@pam only on a
    /// cluster), under Proxmox's per-guest lock. `managed` is what the file holds
    /// afterwards for each key phoenix owns; `removed`/`added` is the predicted diff.
    EditConf {
        /// The container.
        vmid: u32,
        /// The conf file (as on the host).
        path: Utf8PathBuf,
        /// Every managed key with its values, in order.
        managed: BTreeMap<String, Vec<String>>,
        /// Lines removed.
        removed: Vec<String>,
        /// Lines added.
        added: Vec<String>,
    },
    /// The guest firewall file written (atomically) with the desired rules; its other
    /// sections are kept.
    EditFirewall {
        /// The container.
        vmid: u32,
        /// `/etc/pve/firewall/<vmid>.fw`.
        path: Utf8PathBuf,
        /// The whole new content.
        content: String,
        /// Lines removed.
        removed: Vec<String>,
        /// Lines added.
        added: Vec<String>,
    },
    /// A host directory with its owner and mode.
    EnsureDir {
        /// The directory (as on the host).
        path: Utf8PathBuf,
        /// Host uid it must belong to.
        uid: u32,
        /// Host gid it must belong to.
        gid: u32,
        /// Permission bits (applied on create, and when the config sets a mode).
        mode: u32,
        /// The config sets the mode (so an existing directory gets it too).
        set_mode: bool,
        /// What differs now (`missing`, `owner 0:0`, `mode 0700`), empty for a no-op.
        differs: Vec<String>,
    },
    /// Root's subordinate id ranges added to `/etc/subuid` or `/etc/subgid`.
    SubIds {
        /// `/etc/subuid` or `/etc/subgid`.
        file: Utf8PathBuf,
        /// The lines added (`root:100000:65536`).
        add: Vec<String>,
    },
    /// Storage pools checked active (`pvesm status`).
    CheckStorage {
        /// The pools.
        pools: Vec<String>,
    },
    /// An AppArmor profile or tunable written (and the changed profiles reloaded).
    AppArmorFile {
        /// The file (as on the host).
        path: Utf8PathBuf,
    },
    /// The kernel's map of the running container (`/proc/self/uid_map` or `gid_map`)
    /// equals the computed one.
    ProveMap {
        /// The container.
        vmid: u32,
        /// `uid` or `gid`.
        kind: String,
        /// The lines expected (`ns host count`).
        expect: Vec<String>,
    },
    /// A volume is owned by its owner inside, and a file its owner makes is owned by
    /// the owner's mapped ids on the host.
    ProveVolume {
        /// The container.
        vmid: u32,
        /// `shared volume x` or `mount point 0`.
        origin: String,
        /// The host directory (as on the host).
        host_path: Utf8PathBuf,
        /// The path inside.
        ct_path: String,
        /// Owner inside (`uid:gid`).
        owner: (u32, u32),
        /// The owner's ids on the host.
        host_owner: (u32, u32),
        /// Mounted read-only (no probe file).
        read_only: bool,
    },
    /// A feature probed, installed when needed, verified and recorded in the ledger.
    Feature {
        /// The container.
        vmid: u32,
        /// The feature.
        name: String,
        /// Install or verify.
        action: FeatureAction,
        /// The digest of the feature's inputs, recorded in the ledger.
        inputs: String,
        /// What the install runs (for reading; `phoenix plan -v`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        commands: Vec<String>,
    },
    /// phoenix's gateway step in the gateway container: the NGINX configuration
    /// rendered from the fleet, installed, tested with `nginx -t`, reloaded.
    Gateway {
        /// The gateway container.
        vmid: u32,
        /// The digest of the rendered configuration and its settings.
        inputs: String,
    },
    /// The container's application script, run with its files from a staging directory.
    Script {
        /// The container.
        vmid: u32,
        /// The script, relative to the scripts directory.
        script: String,
        /// Its files, relative to the scripts directory.
        files: Vec<String>,
        /// The digest of the script, its files and the container's config.
        inputs: String,
    },
    /// Nothing to do, with why.
    Note {
        /// What is checked or why nothing is done.
        text: String,
    },
}

impl Op {
    /// The container an operation works on, if any.
    pub fn vmid(&self) -> Option<u32> {
        match self {
            Op::Create { vmid, .. }
            | Op::Clone { vmid, .. }
            | Op::Set { vmid, .. }
            | Op::Start { vmid }
            | Op::Snapshot { vmid, .. }
            | Op::EditConf { vmid, .. }
            | Op::EditFirewall { vmid, .. }
            | Op::ProveMap { vmid, .. }
            | Op::ProveVolume { vmid, .. }
            | Op::Feature { vmid, .. }
            | Op::Gateway { vmid, .. }
            | Op::Script { vmid, .. } => Some(*vmid),
            _ => None,
        }
    }
}

/// One planned step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    /// The phase it belongs to.
    pub step: Step,
    /// Create, change, check or no-op.
    pub change: Change,
    /// What it does.
    pub op: Op,
    /// Why: the differences it removes (`memory: 64 -> 96`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

impl PlannedStep {
    /// A step.
    pub fn new(step: Step, change: Change, op: Op) -> Self {
        PlannedStep {
            step,
            change,
            op,
            why: Vec::new(),
        }
    }

    /// A no-op with an explanation.
    pub fn note(step: Step, text: impl Into<String>) -> Self {
        Self::new(step, Change::NoOp, Op::Note { text: text.into() })
    }

    /// With the reasons.
    pub fn because(mut self, why: Vec<String>) -> Self {
        self.why = why;
        self
    }

    /// True when it changes something.
    pub fn mutates(&self) -> bool {
        self.change.mutates()
    }
}

/// A file the plan read, and what it held.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileRead {
    /// The path as on the host (not prefixed with the root).
    pub path: Utf8PathBuf,
    /// SHA-1 (hex) of the content, `dir UID:GID MODE` for a directory, `None` when
    /// it did not exist.
    pub digest: Option<String>,
}

/// What the plan saw of a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestObserved {
    /// It exists.
    pub exists: bool,
    /// It runs.
    pub running: bool,
    /// The digest of its conf file (`None`: absent).
    pub conf_digest: Option<String>,
}

/// One guest's part of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestPlan {
    /// The guest.
    pub guest: GuestId,
    /// Its hostname in the config.
    pub hostname: String,
    /// Guests it needs first (clone source, dependencies), containers and VMs alike.
    pub needs: Vec<GuestId>,
    /// Host steps it needs (their failure fails it).
    pub host_steps: Vec<String>,
    /// What the plan saw.
    pub observed: GuestObserved,
    /// Its steps, in order.
    pub steps: Vec<PlannedStep>,
    /// Refused before any change (the steps are then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<ErrorReport>,
    /// Things the user should know that do not stop it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl GuestPlan {
    /// The steps that change something.
    pub fn changes(&self) -> impl Iterator<Item = &PlannedStep> {
        self.steps.iter().filter(|s| s.mutates())
    }
}

/// One host step: its operations, and the guests that need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStepPlan {
    /// Its name (`subid`, `storage`, `apparmor`).
    pub name: String,
    /// The guests that need it; `None`: every guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<GuestId>>,
    /// Its operations.
    pub steps: Vec<PlannedStep>,
    /// Warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// It cannot be planned (so the guests in its scope cannot run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReport>,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT`].
    pub format: String,
    /// The phoenix version that made it.
    pub phoenix_version: String,
    /// The root every host path is under.
    pub root: Utf8PathBuf,
    /// The digest of the config files the plan was made from.
    pub config_digest: String,
    /// Every file the plan read, sorted by path.
    pub reads: Vec<FileRead>,
    /// Host steps, in order.
    pub host: Vec<HostStepPlan>,
    /// Guests, in id order.
    pub guests: Vec<GuestPlan>,
}

impl Plan {
    /// Every step that changes something (host and guests).
    pub fn change_count(&self) -> usize {
        self.host
            .iter()
            .map(|h| h.steps.iter().filter(|s| s.mutates()).count())
            .sum::<usize>()
            + self
                .guests
                .iter()
                .map(|g| g.changes().count())
                .sum::<usize>()
    }

    /// The guest's plan.
    pub fn guest(&self, id: GuestId) -> Option<&GuestPlan> {
        self.guests.iter().find(|g| g.guest == id)
    }

    /// The plan as pretty JSON (what `phoenix plan -o json` prints).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Reads a saved plan, refusing another format.
    pub fn from_json(text: &str) -> Result<Plan, PlanFileError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(PlanFileError::Json)?;
        let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
        if format != PLAN_FORMAT {
            return Err(PlanFileError::Format(format.to_owned()));
        }
        serde_json::from_value(value).map_err(PlanFileError::Json)
    }
}

/// Why a saved plan cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// Not JSON, or not a plan.
    #[error("not a phoenix plan")]
    Json(#[source] serde_json::Error),
    /// A plan of another format version.
    #[error("plan format '{0}' is not {PLAN_FORMAT}: make the plan again with this phoenix")]
    Format(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_round_trips_through_json_and_other_formats_are_refused() {
        let plan = Plan {
            format: PLAN_FORMAT.into(),
            phoenix_version: "0.1.0".into(),
            root: "/".into(),
            config_digest: "abc".into(),
            reads: vec![FileRead {
                path: "/etc/pve/lxc/900.conf".into(),
                digest: None,
            }],
            host: vec![],
            guests: vec![GuestPlan {
                guest: GuestId::Ct(phoenix_pveconf::Vmid::new(900).unwrap()),
                hostname: "base".into(),
                needs: vec![],
                host_steps: vec!["subid".into()],
                observed: GuestObserved {
                    exists: false,
                    running: false,
                    conf_digest: None,
                },
                steps: vec![
                    PlannedStep::new(Step::Start, Change::Change, Op::Start { vmid: 900 })
                        .because(vec!["stopped".into()]),
                ],
                refused: None,
                warnings: vec![],
            }],
        };
        assert_eq!(plan.change_count(), 1);
        let back = Plan::from_json(&plan.to_json()).unwrap();
        assert_eq!(back, plan);
        let other = plan.to_json().replace(PLAN_FORMAT, "phoenix-plan/0");
        assert_eq!(
            Plan::from_json(&other).unwrap_err().to_string(),
            "plan format 'phoenix-plan/0' is not phoenix-plan/1: make the plan again with this phoenix"
        );
        assert!(Plan::from_json("[]").is_err());
    }
}
