//! The node backend: renders an [`Op`] as the exact `pct` argv or file edit, and
//! executes it on this node (pct through the runner, files under the root). A PVE API
//! backend renders the same operations as API calls (the cluster issue).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camino::Utf8Path;
use phoenix_idmap::proc_map;
use phoenix_pct::{
    CloneOptions, CommandRunner, CreateOptions, CtOptions, CtStatus, Invocation, Pct, SetOptions,
    SnapshotName, argv,
};
use phoenix_pveconf::Vmid;
use phoenix_pveconf::conf::io::{lock_conf, read_optional_conf, write_conf_atomic};

use crate::error::StepError;
use crate::guest::GuestId;
use crate::hostfs::{HostFs, under_root};
use crate::plan::Op;

/// How long phoenix waits for Proxmox's per-CT config lock, as Proxmox does.
const CONF_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The node backend.
pub struct NodeBackend<'a> {
    /// pct through the run's runner.
    pub pct: Pct<&'a dyn CommandRunner>,
    /// Every host path is under this root.
    pub root: &'a Utf8Path,
    /// Host directories.
    pub fs: &'a dyn HostFs,
    /// One lock per clone source: Proxmox locks the source (`lock: disk`) for the whole
    /// clone, so two clones of one source at once would fail with `CT is locked (disk)`.
    pub clone_sources: Mutex<BTreeMap<u32, Arc<Mutex<()>>>>,
}

fn vmid(id: u32) -> Vmid {
    // Ops are built from Vmids; a saved plan is checked when it is loaded.
    Vmid::new(id).unwrap_or_else(|_| unreachable!("ops carry valid vmids"))
}

/// `Op` parameters as typed pct options (the argv is the same: keys in byte order).
fn ct_options(params: &BTreeMap<String, String>) -> CtOptions {
    CtOptions {
        other: params.clone(),
        ..CtOptions::default()
    }
}

fn create_options(params: &BTreeMap<String, String>) -> CreateOptions {
    let mut rest = params.clone();
    let unprivileged = rest.remove("unprivileged").is_some_and(|v| v == "1");
    CreateOptions {
        unprivileged,
        config: ct_options(&rest),
        ..CreateOptions::default()
    }
}

fn clone_options(params: &BTreeMap<String, String>) -> CloneOptions {
    CloneOptions {
        hostname: params.get("hostname").cloned(),
        snapname: params
            .get("snapname")
            .and_then(|s| s.parse::<SnapshotName>().ok()),
        ..CloneOptions::default()
    }
}

fn set_options(params: &BTreeMap<String, String>, delete: &[String]) -> SetOptions {
    SetOptions {
        changes: ct_options(params),
        delete: delete.to_vec(),
        ..SetOptions::default()
    }
}

fn probe_name(vmid: u32) -> String {
    format!(".phoenix-probe-{vmid}")
}

impl<'a> NodeBackend<'a> {
    /// A backend over `pct`, the root and the host file system.
    pub fn new(pct: Pct<&'a dyn CommandRunner>, root: &'a Utf8Path, fs: &'a dyn HostFs) -> Self {
        NodeBackend {
            pct,
            root,
            fs,
            clone_sources: Mutex::new(BTreeMap::new()),
        }
    }

    fn bin(&self) -> PathBuf {
        self.pct.binary().to_owned()
    }

    fn exec_inv(&self, id: u32, cmd: &[&str]) -> Invocation {
        argv::exec(&self.bin(), vmid(id), cmd)
    }

    /// The lines that show what `op` does: the exact argv of pct calls, the edit of a
    /// file, the directory with its owner.
    pub fn render(&self, op: &Op) -> String {
        let b = self.bin();
        match op {
            Op::Create {
                vmid: id,
                ostemplate,
                params,
            } => argv::create(&b, vmid(*id), ostemplate, &create_options(params)).to_string(),
            Op::Clone {
                source,
                vmid: id,
                params,
            } => argv::clone(&b, vmid(*source), vmid(*id), &clone_options(params)).to_string(),
            Op::Set {
                vmid: id,
                params,
                delete,
            } => argv::set(&b, vmid(*id), &set_options(params, delete)).to_string(),
            Op::Start { vmid: id } => argv::start(&b, vmid(*id)).to_string(),
            Op::Snapshot { vmid: id, name } => match name.parse::<SnapshotName>() {
                Ok(n) => argv::snapshot(&b, vmid(*id), &n, None).to_string(),
                Err(_) => format!("pct snapshot {id} {name}"),
            },
            Op::EditConf {
                path,
                removed,
                added,
                ..
            } => edit_text(path.as_str(), removed, added),
            Op::EditFirewall {
                path,
                removed,
                added,
                ..
            } => edit_text(path.as_str(), removed, added),
            Op::EnsureDir {
                path,
                uid,
                gid,
                mode,
                differs,
                ..
            } => {
                let mut s = format!("directory {path} owner {uid}:{gid} mode {mode:04o}");
                if !differs.is_empty() {
                    s.push_str(&format!(" (now: {})", differs.join(", ")));
                }
                s
            }
            Op::SubIds { file, add } => edit_text(file.as_str(), &[], add),
            Op::CheckStorage { pools } => format!("storage active: {}", pools.join(", ")),
            Op::AppArmorFile { path } => format!("apparmor {path}"),
            Op::ProveMap { vmid: id, kind, .. } => self
                .exec_inv(*id, &["cat", &format!("/proc/self/{kind}_map")])
                .to_string(),
            Op::ProveVolume {
                vmid: id,
                ct_path,
                read_only,
                ..
            } => {
                let stat = self
                    .exec_inv(*id, &["stat", "-c", "%u %g", ct_path])
                    .to_string();
                if *read_only {
                    stat
                } else {
                    format!(
                        "{stat}; then a probe file touched and chowned inside, its owner checked on the host"
                    )
                }
            }
            Op::Feature { name, action, .. } => match action {
                crate::plan::FeatureAction::Install => format!("install feature {name}"),
                crate::plan::FeatureAction::Verify => format!("verify feature {name}"),
            },
            Op::Gateway { .. } => format!(
                "gateway: install the rendered {} , nginx -t, reload",
                phoenix_gateway::CONF_PATH
            ),
            Op::Script { script, files, .. } => {
                if files.is_empty() {
                    format!("run application script {script}")
                } else {
                    format!("run application script {script} with {}", files.join(", "))
                }
            }
            Op::Note { text } => text.clone(),
        }
    }

    fn pct_err(id: u32, what: &str) -> impl FnOnce(phoenix_pct::PctError) -> StepError + '_ {
        move |source| StepError::Pct {
            guest: GuestId::Ct(vmid(id)),
            what: what.to_owned(),
            source,
        }
    }

    /// Executes one guest operation (host operations run as whole host steps).
    pub fn execute(&self, op: &Op) -> Result<(), StepError> {
        match op {
            Op::Create {
                vmid: id,
                ostemplate,
                params,
            } => self
                .pct
                .create(vmid(*id), ostemplate, &create_options(params))
                .map_err(Self::pct_err(*id, "pct create")),
            Op::Clone {
                source,
                vmid: id,
                params,
            } => {
                let lock = self
                    .clone_sources
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(*source)
                    .or_default()
                    .clone();
                let _held = lock.lock().unwrap_or_else(|p| p.into_inner());
                self.pct
                    .clone_ct(vmid(*source), vmid(*id), &clone_options(params))
                    .map_err(Self::pct_err(*id, "pct clone"))
            }
            Op::Set {
                vmid: id,
                params,
                delete,
            } => self
                .pct
                .set(vmid(*id), &set_options(params, delete))
                .map_err(Self::pct_err(*id, "pct set")),
            Op::Start { vmid: id } => {
                let v = vmid(*id);
                self.pct.start(v).map_err(Self::pct_err(*id, "pct start"))?;
                let status = self
                    .pct
                    .status(v)
                    .map_err(Self::pct_err(*id, "pct status"))?;
                if status != CtStatus::Running {
                    return Err(StepError::Proof {
                        guest: GuestId::Ct(v),
                        reason: format!("it is {status} right after pct start"),
                    });
                }
                Ok(())
            }
            Op::Snapshot { vmid: id, name } => {
                let n = name.parse::<SnapshotName>().map_err(|e| {
                    StepError::Refused(format!("CT {id}: snapshot name '{name}': {e}"))
                })?;
                self.pct
                    .snapshot(vmid(*id), &n, None)
                    .map_err(Self::pct_err(*id, "pct snapshot"))
            }
            Op::EditConf {
                vmid: id, managed, ..
            } => self.edit_conf(*id, managed),
            Op::EnsureDir {
                path,
                uid,
                gid,
                mode,
                set_mode,
                ..
            } => self.ensure_dir(path, *uid, *gid, *mode, *set_mode),
            Op::EditFirewall { path, content, .. } => self.write_file(path, content),
            Op::ProveMap {
                vmid: id,
                kind,
                expect,
            } => self.prove_map(*id, kind, expect),
            Op::ProveVolume {
                vmid: id,
                origin,
                host_path,
                ct_path,
                owner,
                host_owner,
                read_only,
            } => self.prove_volume(
                *id,
                origin,
                host_path,
                ct_path,
                *owner,
                *host_owner,
                *read_only,
            ),
            Op::SubIds { .. }
            | Op::CheckStorage { .. }
            | Op::AppArmorFile { .. }
            | Op::Feature { .. }
            | Op::Gateway { .. }
            | Op::Script { .. }
            | Op::Note { .. } => Ok(()),
        }
    }

    fn edit_conf(&self, id: u32, managed: &BTreeMap<String, Vec<String>>) -> Result<(), StepError> {
        let guest = GuestId::Ct(vmid(id));
        let root = self.root.as_std_path();
        let conf_err = |source| StepError::Conf { guest, source };
        // The conf and its lock are written only beneath the root, never through a link
        // out of it (/etc/pve/lxc links to nodes/<node>/lxc inside the root on Proxmox).
        for rel in [
            format!("etc/pve/lxc/{id}.conf"),
            format!("run/lock/lxc/pve-config-{id}.lock"),
        ] {
            crate::hostfs::under_root_checked(self.root, Utf8Path::new(&rel))
                .map_err(|e| StepError::Refused(e.to_string()))?;
        }
        let _lock = lock_conf(root, vmid(id), CONF_LOCK_TIMEOUT).map_err(conf_err)?;
        let Some((mut conf, digest)) = read_optional_conf(root, vmid(id)).map_err(conf_err)? else {
            return Err(StepError::Refused(format!(
                "CT {id}: /etc/pve/lxc/{id}.conf does not exist under {}",
                self.root
            )));
        };
        let before = conf.render();
        for (key, values) in managed {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            conf.replace_lxc(key, &values)
                .map_err(|source| StepError::Edit { guest, source })?;
        }
        if conf.render() != before {
            write_conf_atomic(root, vmid(id), &conf, Some(digest)).map_err(conf_err)?;
        }
        Ok(())
    }

    /// Writes a host file atomically: a temp file in the same directory, renamed.
    fn write_file(&self, host_path: &Utf8Path, content: &str) -> Result<(), StepError> {
        let path = crate::hostfs::under_root_checked(self.root, host_path)
            .map_err(|e| StepError::Refused(e.to_string()))?;
        let io = |what, source| StepError::Io {
            what,
            path: path.clone(),
            source,
        };
        let dir = path.parent().unwrap_or(self.root);
        std::fs::create_dir_all(dir).map_err(|e| io("cannot create the directory of", e))?;
        let _ = phoenix_hostpath::temp::sweep_stale_temps(dir.as_std_path());
        let tmp = phoenix_hostpath::temp::temp_path_for(path.as_std_path());
        let written = (|| -> std::io::Result<()> {
            let mut out = std::fs::File::create_new(&tmp)?;
            std::io::Write::write_all(&mut out, content.as_bytes())?;
            out.sync_all()
        })();
        let renamed = written.map_err(|e| io("cannot write", e)).and_then(|()| {
            std::fs::rename(&tmp, &path).map_err(|e| io("cannot rename into place", e))
        });
        if renamed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        renamed
    }

    fn ensure_dir(
        &self,
        host_path: &Utf8Path,
        uid: u32,
        gid: u32,
        mode: u32,
        set_mode: bool,
    ) -> Result<(), StepError> {
        let path = under_root(self.root, host_path);
        let io = |what, source| StepError::Io {
            what,
            path: path.clone(),
            source,
        };
        match self.fs.stat(&path).map_err(|e| io("cannot read", e))? {
            None => self
                .fs
                .create_dir(&path, mode)
                .map_err(|e| io("cannot create", e))?,
            Some(m) if !m.is_dir => {
                return Err(StepError::Refused(format!(
                    "{host_path} exists and is not a directory"
                )));
            }
            Some(m) => {
                if set_mode && m.mode != mode {
                    self.fs
                        .chmod(&path, mode)
                        .map_err(|e| io("cannot chmod", e))?;
                }
                if (m.uid, m.gid) == (uid, gid) {
                    return Ok(());
                }
            }
        }
        self.fs
            .chown(&path, uid, gid)
            .map_err(|e| io("cannot chown", e))
    }

    /// Runs a command inside; a non-zero exit is a proof failure naming `what`.
    fn exec_ok(&self, id: u32, cmd: &[&str], what: &str) -> Result<String, StepError> {
        let guest = GuestId::Ct(vmid(id));
        let out = self
            .pct
            .exec(vmid(id), cmd)
            .map_err(Self::pct_err(id, "pct exec"))?;
        if out.status.code() != Some(0) {
            return Err(StepError::Proof {
                guest,
                reason: format!(
                    "{what}: `{}` inside failed ({}): {}",
                    cmd.join(" "),
                    out.status.code().unwrap_or(-1),
                    out.stderr_lossy().trim()
                ),
            });
        }
        Ok(out.stdout_lossy())
    }

    fn prove_map(&self, id: u32, kind: &str, expect: &[String]) -> Result<(), StepError> {
        let guest = GuestId::Ct(vmid(id));
        let file = format!("/proc/self/{kind}_map");
        let out = self.exec_ok(id, &["cat", &file], "reading the kernel's map")?;
        let seen = proc_map::parse(&out).map_err(|e| StepError::Proof {
            guest,
            reason: e.to_string(),
        })?;
        let seen: Vec<String> = seen.iter().map(ToString::to_string).collect();
        if seen != expect {
            return Err(StepError::Proof {
                guest,
                reason: format!(
                    "the kernel maps {kind}s as [{}] but phoenix computed [{}]",
                    seen.join(", "),
                    expect.join(", ")
                ),
            });
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn prove_volume(
        &self,
        id: u32,
        origin: &str,
        host_path: &Utf8Path,
        ct_path: &str,
        owner: (u32, u32),
        host_owner: (u32, u32),
        read_only: bool,
    ) -> Result<(), StepError> {
        let guest = GuestId::Ct(vmid(id));
        let where_ = format!("{origin} ({host_path} at {ct_path})");
        let want = format!("{} {}", owner.0, owner.1);
        let seen = self.exec_ok(id, &["stat", "-c", "%u %g", ct_path], &where_)?;
        if seen.trim() != want {
            return Err(StepError::Proof {
                guest,
                reason: format!(
                    "{where_}: inside it belongs to {} but should belong to {want}",
                    seen.trim()
                ),
            });
        }
        if read_only {
            return Ok(());
        }
        // Written as container root, then given to the owner: the host must see the
        // owner's mapped ids, which proves the map end to end on this volume.
        let probe = format!("{}/{}", ct_path.trim_end_matches('/'), probe_name(id));
        let owner_s = format!("{}:{}", owner.0, owner.1);
        self.exec_ok(id, &["touch", &probe], &where_)?;
        self.exec_ok(id, &["chown", &owner_s, &probe], &where_)?;
        let host_probe = under_root(self.root, host_path).join(probe_name(id));
        // Never follow a link the container could have put there (stat does not).
        let meta = self.fs.stat(&host_probe).map_err(|source| StepError::Io {
            what: "cannot read",
            path: host_probe.clone(),
            source,
        })?;
        let result = match meta {
            None => Err(StepError::Proof {
                guest,
                reason: format!(
                    "{where_}: the probe file is not visible on the host at {host_probe}"
                ),
            }),
            Some(m) if (m.uid, m.gid) != host_owner => Err(StepError::Proof {
                guest,
                reason: format!(
                    "{where_}: a file owned by {owner_s} inside is owned by {}:{} on the host, expected {}:{}",
                    m.uid, m.gid, host_owner.0, host_owner.1
                ),
            }),
            Some(_) => Ok(()),
        };
        let cleanup = self.exec_ok(id, &["rm", "-f", &probe], &where_);
        match (result, cleanup) {
            (Err(e), Err(c)) => Err(e.with_cleanup(c)),
            (Err(e), Ok(_)) | (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(_)) => Ok(()),
        }
    }

    /// Stops a container that failed its proof (a wrong map can expose host files under
    /// the wrong owner; a stopped container is started, and proven, again next run).
    pub fn stop_after_failed_proof(&self, id: u32) -> Result<(), StepError> {
        self.pct
            .stop(vmid(id))
            .map_err(Self::pct_err(id, "pct stop (after the failed proof)"))
    }
}

fn edit_text(path: &str, removed: &[String], added: &[String]) -> String {
    let mut s = format!("edit {path}");
    for l in removed {
        s.push_str(&format!("\n      - {l}"));
    }
    for l in added {
        s.push_str(&format!("\n      + {l}"));
    }
    s
}
