//! The node path: phoenix itself, run on a cluster node over SSH, for what only the node
//! can do. The PVE API creates, clones, configures, starts and snapshots guests, but it
//! reserves bind mounts, `devN`, feature flags other than `nesting` and every raw
//! `lxc.*` key (idmaps, AppArmor) to `root@pam` (an API token is never `root@pam`), and
//! it has no way at all to run a command inside a container, edit `/etc/subuid`, load
//! an AppArmor profile or own a host directory. Those steps run as `phoenix node` on the
//! node: the cluster run sends a [`Bundle`] (the config files and one [`NodeRequest`])
//! on its stdin and reads one [`NodeResponse`] from its stdout.
//!
//! The SSH client is OpenSSH's, with host keys checked against a known-hosts file
//! (`StrictHostKeyChecking=yes`, never "accept new") and no prompts (`BatchMode=yes`).
//! OpenSSH joins the remote command's words with spaces and hands the line to the
//! node's shell, so every word is quoted for a POSIX shell here ([`remote_line`]): a
//! word is never interpreted by that shell.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::plan::{GuestPlan, HostStepPlan, Plan};
use crate::report::{CtReport, HostReport};

/// The format tag of a [`Bundle`]; `phoenix node` refuses another.
pub const NODE_FORMAT: &str = "phoenix-node/1";

/// The largest config or script file a bundle carries (they are kilobytes).
pub const BUNDLE_FILE_LIMIT: u64 = 4 * 1024 * 1024;

/// What the cluster run sends to `phoenix node`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bundle {
    /// [`NODE_FORMAT`].
    pub format: String,
    /// The config directory's files (`phoenix_lxc_configs.json`, ...), by file name.
    pub config: BTreeMap<String, String>,
    /// The application scripts directory's files, by file name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scripts: BTreeMap<String, String>,
    /// What to do.
    pub request: NodeRequest,
}

/// One request to a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case")]
pub enum NodeRequest {
    /// Plan exactly these guests on the node (its files, its `pct`, its ledgers).
    Plan {
        /// The guests placed on this node.
        ids: Vec<u32>,
        /// `--verify`.
        #[serde(default)]
        reprove: bool,
        /// `--rerun-scripts`.
        #[serde(default)]
        rerun_scripts: bool,
        /// Only create what is missing.
        #[serde(default)]
        only_missing: bool,
    },
    /// Run these host steps (for these guests).
    ApplyHost {
        /// The guests the steps are for.
        ids: Vec<u32>,
        /// The steps, as the node planned them.
        steps: Vec<HostStepPlan>,
    },
    /// Run these steps of one guest, exactly.
    ApplyGuest {
        /// The guest with the steps to run (only the node path's share).
        guest: Box<GuestPlan>,
        /// `--verify`.
        #[serde(default)]
        reprove: bool,
        /// `--rerun-scripts`.
        #[serde(default)]
        rerun_scripts: bool,
    },
}

/// What `phoenix node` answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "kebab-case")]
pub enum NodeResponse {
    /// The node's plan of its guests.
    Plan {
        /// The plan.
        plan: Box<Plan>,
    },
    /// The host steps' reports.
    Host {
        /// One per step.
        reports: Vec<HostReport>,
    },
    /// The guest's steps' report.
    Guest {
        /// The report.
        report: Box<CtReport>,
    },
    /// The node could not do what was asked (a bad bundle, an invalid config).
    Error {
        /// Why.
        message: String,
    },
}

/// How to reach one node over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The node's name.
    pub node: String,
    /// The `ssh` client (`PHOENIX_SSH`, else `ssh` on PATH).
    pub ssh: PathBuf,
    /// The remote user.
    pub user: String,
    /// The host to connect to.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The known-hosts file the node's host key must be in.
    pub known_hosts: Utf8PathBuf,
    /// phoenix on the node.
    pub phoenix: String,
}

/// Why the node path failed.
#[derive(Debug, thiserror::Error)]
pub enum NodePathError {
    /// `ssh` could not be started.
    #[error("node {node}: cannot run {ssh}")]
    Spawn {
        /// The node.
        node: String,
        /// The client.
        ssh: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// ssh itself failed (exit 255: no connection, a host key that does not match).
    #[error("node {node}: ssh {user}@{host} failed: {stderr}")]
    Ssh {
        /// The node.
        node: String,
        /// The user.
        user: String,
        /// The host.
        host: String,
        /// What ssh said.
        stderr: String,
    },
    /// `phoenix node` failed without an answer.
    #[error("node {node}: phoenix node exited with {code}: {stderr}")]
    Remote {
        /// The node.
        node: String,
        /// Its exit code (-1: killed).
        code: i32,
        /// What it said.
        stderr: String,
    },
    /// Its answer is not a node response.
    #[error("node {node}: phoenix node answered something that is not a node response")]
    Answer {
        /// The node.
        node: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// It answered with an error.
    #[error("node {node}: {message}")]
    Refused {
        /// The node.
        node: String,
        /// Its message.
        message: String,
    },
    /// A word of the remote command cannot be quoted (a NUL byte).
    #[error("node {node}: cannot quote the remote command word {word:?}")]
    Quote {
        /// The node.
        node: String,
        /// The word.
        word: String,
    },
}

/// The remote command line OpenSSH hands to the node's shell: each word quoted for a
/// POSIX shell (`None` when a word holds a NUL byte).
///
/// ```
/// use phoenix_orchestrator::node_path::remote_line;
/// assert_eq!(remote_line(&["phoenix", "node"]).unwrap(), "phoenix node");
/// assert_eq!(remote_line(&["/opt/my phoenix", "a'b"]).unwrap(), r#"'/opt/my phoenix' "a'b""#);
/// ```
pub fn remote_line(words: &[&str]) -> Option<String> {
    shlex::try_join(words.iter().copied()).ok()
}

impl SshTarget {
    /// The ssh argv for running `remote` on the node (the program first).
    pub fn argv(&self, remote: &[&str]) -> Result<Vec<String>, NodePathError> {
        let line = remote_line(remote).ok_or_else(|| NodePathError::Quote {
            node: self.node.clone(),
            word: remote
                .iter()
                .find(|w| w.contains('\0'))
                .map(|w| (*w).to_owned())
                .unwrap_or_default(),
        })?;
        Ok(vec![
            self.ssh.to_string_lossy().into_owned(),
            "-T".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            "-o".into(),
            format!("UserKnownHostsFile={}", self.known_hosts),
            "-p".into(),
            self.port.to_string(),
            "-l".into(),
            self.user.clone(),
            "--".into(),
            self.host.clone(),
            line,
        ])
    }

    /// Sends `bundle` to `phoenix node` on the node and reads its answer.
    pub fn call(&self, bundle: &Bundle) -> Result<NodeResponse, NodePathError> {
        let argv = self.argv(&[&self.phoenix, "node"])?;
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| NodePathError::Spawn {
                node: self.node.clone(),
                ssh: argv[0].clone(),
                source,
            })?;
        let input = serde_json::to_vec(bundle).unwrap_or_default();
        let writer = child.stdin.take().map(|mut stdin| {
            std::thread::spawn(move || {
                // A node that exits early closes its stdin: its answer says why.
                let _ = stdin.write_all(&input);
            })
        });
        let out = child
            .wait_with_output()
            .map_err(|source| NodePathError::Spawn {
                node: self.node.clone(),
                ssh: argv[0].clone(),
                source,
            })?;
        if let Some(w) = writer {
            let _ = w.join();
        }
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let code = out.status.code().unwrap_or(-1);
        if code == 255 {
            return Err(NodePathError::Ssh {
                node: self.node.clone(),
                user: self.user.clone(),
                host: self.host.clone(),
                stderr,
            });
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let answer = match serde_json::from_str::<NodeResponse>(stdout.trim()) {
            Ok(a) => a,
            Err(source) if code == 0 => {
                return Err(NodePathError::Answer {
                    node: self.node.clone(),
                    source,
                });
            }
            Err(_) => {
                return Err(NodePathError::Remote {
                    node: self.node.clone(),
                    code,
                    stderr,
                });
            }
        };
        match answer {
            NodeResponse::Error { message } => Err(NodePathError::Refused {
                node: self.node.clone(),
                message,
            }),
            a => Ok(a),
        }
    }
}

/// Reads a config directory's JSON files and a scripts directory's files into a bundle
/// (regular files only, each at most [`BUNDLE_FILE_LIMIT`] bytes).
pub fn bundle_of(
    config_dir: &Utf8Path,
    scripts_dir: Option<&Utf8Path>,
    request: NodeRequest,
) -> std::io::Result<Bundle> {
    fn files(dir: &Utf8Path, json_only: bool) -> std::io::Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !json_only => return Ok(out),
            Err(e) => return Err(e),
        };
        for e in entries {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if json_only && !name.ends_with(".json") {
                continue;
            }
            let meta = std::fs::symlink_metadata(e.path())?;
            if !meta.is_file() || meta.len() > BUNDLE_FILE_LIMIT {
                continue;
            }
            let path = dir.join(&name);
            if let Some(bytes) =
                phoenix_hostpath::read_input_io(path.as_std_path(), BUNDLE_FILE_LIMIT)?
            {
                out.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Ok(out)
    }
    Ok(Bundle {
        format: NODE_FORMAT.into(),
        config: files(config_dir, true)?,
        scripts: match scripts_dir {
            Some(d) => files(d, false)?,
            None => BTreeMap::new(),
        },
        request,
    })
}

/// Writes a bundle's files beneath `dir` as `etc/` (the config) and `bin/` (the
/// scripts, mode 0755), where `phoenix node` loads them from. File names with a `/`
/// or starting with `.` are refused.
pub fn unpack(bundle: &Bundle, dir: &Utf8Path) -> std::io::Result<Utf8PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let bad = |name: &str| name.is_empty() || name.contains('/') || name.starts_with('.');
    let etc = dir.join("etc");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&etc)?;
    for (name, text) in &bundle.config {
        if bad(name) {
            return Err(std::io::Error::other(format!(
                "bundle: bad config file name {name:?}"
            )));
        }
        std::fs::write(etc.join(name), text)?;
    }
    if !bundle.scripts.is_empty() {
        std::fs::create_dir_all(&bin)?;
        for (name, text) in &bundle.scripts {
            if bad(name) {
                return Err(std::io::Error::other(format!(
                    "bundle: bad script file name {name:?}"
                )));
            }
            let p = bin.join(name);
            std::fs::write(&p, text)?;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(etc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> SshTarget {
        SshTarget {
            node: "pve2".into(),
            ssh: "ssh".into(),
            user: "root".into(),
            host: "10.0.0.12".into(),
            port: 22,
            known_hosts: "/etc/phoenix/known_hosts".into(),
            phoenix: "/usr/local/bin/phoenix".into(),
        }
    }

    #[test]
    fn the_ssh_argv_checks_host_keys_and_quotes_every_remote_word() {
        let argv = target()
            .argv(&["/usr/local/bin/phoenix", "node", "a b;rm -rf /"])
            .unwrap();
        assert_eq!(
            argv.join(" | "),
            "ssh | -T | -o | BatchMode=yes | -o | StrictHostKeyChecking=yes | -o | UserKnownHostsFile=/etc/phoenix/known_hosts | -p | 22 | -l | root | -- | 10.0.0.12 | /usr/local/bin/phoenix node 'a b;rm -rf /'"
        );
        let line = argv.last().unwrap();
        assert_eq!(
            shlex::split(line).unwrap(),
            ["/usr/local/bin/phoenix", "node", "a b;rm -rf /"]
        );
        assert!(matches!(
            target().argv(&["a\0b"]),
            Err(NodePathError::Quote { .. })
        ));
    }

    #[test]
    fn bundles_round_trip_and_unpack_refuses_paths() {
        let b = Bundle {
            format: NODE_FORMAT.into(),
            config: [("phoenix_lxc_configs.json".to_owned(), "{}".to_owned())].into(),
            scripts: BTreeMap::new(),
            request: NodeRequest::Plan {
                ids: vec![101],
                reprove: false,
                rerun_scripts: false,
                only_missing: false,
            },
        };
        let text = serde_json::to_string(&b).unwrap();
        assert!(text.contains(r#""request":"plan""#), "{text}");
        let back: Bundle = serde_json::from_str(&text).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let dir = Utf8Path::from_path(dir.path()).unwrap();
        let etc = unpack(&back, dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(etc.join("phoenix_lxc_configs.json")).unwrap(),
            "{}"
        );
        let mut evil = back;
        evil.config.insert("../x".into(), String::new());
        assert!(unpack(&evil, dir).is_err());
    }
}
