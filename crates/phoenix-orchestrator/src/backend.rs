//! The node backend: renders an [`Op`] as the exact `pct` argv or file edit, and
//! executes it on this node (pct through the runner, files under the root). A PVE API
//! backend renders the same operations as API calls (the cluster issue).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_idmap::proc_map;
use phoenix_pct::{
    CloneOptions, CommandRunner, CreateOptions, CtOptions, CtStatus, Invocation, Pct, SetOptions,
    SnapshotName, argv,
};
use phoenix_pveconf::Vmid;
use phoenix_pveconf::conf::io::{lock_conf, read_optional_conf, write_conf_atomic};

use crate::error::{ProofStepError, StepError};
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
            Op::ProveMap { vmid: id, .. } | Op::ProveVolume { vmid: id, .. } => {
                self.prove_all(*id, &[op]).map_err(|failed| failed.1)
            }
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

    /// Runs the proofs of one container (consecutive [`Op::ProveMap`] and
    /// [`Op::ProveVolume`]) in one `pct exec`, then checks each in order: the kernel's
    /// maps, each volume's owner inside and, for a writable volume, the owner on the
    /// host of a probe file made inside (removed on the host afterwards). On failure,
    /// the index of the proof that failed and its error (the messages of one exec per
    /// command before).
    pub fn prove_all(&self, id: u32, ops: &[&Op]) -> Result<(), Box<(usize, StepError)>> {
        let mut cmds: Vec<Vec<String>> = Vec::new();
        // Per op, the indexes of its commands in `cmds`.
        let mut of_op: Vec<Vec<usize>> = Vec::new();
        for op in ops {
            let mut mine = Vec::new();
            let mut push = |c: Vec<String>| {
                mine.push(cmds.len());
                cmds.push(c);
            };
            match op {
                Op::ProveMap { kind, .. } => {
                    push(vec!["cat".into(), format!("/proc/self/{kind}_map")]);
                }
                Op::ProveVolume {
                    ct_path,
                    owner,
                    read_only,
                    ..
                } => {
                    push(vec!["stat".into(), ct_path.clone()]);
                    if !read_only {
                        let probe = format!("{}/{}", ct_path.trim_end_matches('/'), probe_name(id));
                        push(vec!["touch".into(), probe.clone()]);
                        push(vec![
                            "chown".into(),
                            format!("{}:{}", owner.0, owner.1),
                            probe,
                        ]);
                    }
                }
                _ => {}
            }
            of_op.push(mine);
        }
        // The script without its comments: the argv is logged and shown with `-v`.
        let script: String = PROVE_SH
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut argv: Vec<&str> = vec!["sh", "-c", &script, "phoenix-proof"];
        argv.extend(cmds.iter().flatten().map(String::as_str));
        let out = self
            .pct
            .exec(vmid(id), &argv)
            .map_err(|e| Box::new((0, Self::pct_err(id, "pct exec")(e))));
        let run = match out {
            Ok(out) => ProofRun::parse(&out.stdout_lossy(), &out.stderr_lossy(), out.status.code()),
            Err(e) => return Err(e),
        };
        let mut probes: Vec<Utf8PathBuf> = Vec::new();
        let mut result = Ok(());
        for (i, op) in ops.iter().enumerate() {
            let step = |k: usize, what: &str| -> Result<String, StepError> {
                run.result(k, &cmds[k], what)
                    .map_err(|source| StepError::ProofStep {
                        guest: GuestId::Ct(vmid(id)),
                        source: Box::new(source),
                    })
            };
            let checked = match op {
                Op::ProveMap { kind, expect, .. } => step(of_op[i][0], "reading the kernel's map")
                    .and_then(|out| check_map(id, kind, expect, &out)),
                Op::ProveVolume {
                    origin,
                    host_path,
                    ct_path,
                    owner,
                    host_owner,
                    read_only,
                    ..
                } => {
                    let where_ = format!("{origin} ({host_path} at {ct_path})");
                    let host_probe = under_root(self.root, host_path).join(probe_name(id));
                    if !read_only && run.ran(of_op[i][1]) {
                        probes.push(host_probe.clone());
                    }
                    step(of_op[i][0], &where_)
                        .and_then(|seen| check_volume_inside(id, &where_, *owner, &seen))
                        .and_then(|()| {
                            if *read_only {
                                return Ok(());
                            }
                            step(of_op[i][1], &where_)?;
                            step(of_op[i][2], &where_)?;
                            self.check_probe_on_host(id, &where_, *owner, *host_owner, &host_probe)
                        })
                }
                _ => Ok(()),
            };
            if let Err(e) = checked {
                result = Err(Box::new((i, e)));
                break;
            }
        }
        // The probe files are removed on the host (one exec for the whole proof).
        for probe in probes {
            if let Err(source) = self.fs.remove_file(&probe) {
                let c = StepError::Io {
                    what: "cannot remove the probe file",
                    path: probe,
                    source,
                };
                result = match result {
                    Err(failed) => {
                        let (i, e) = *failed;
                        Err(Box::new((i, e.with_cleanup(c))))
                    }
                    Ok(()) => Err(Box::new((ops.len().saturating_sub(1), c))),
                };
            }
        }
        result
    }

    fn check_probe_on_host(
        &self,
        id: u32,
        where_: &str,
        owner: (u32, u32),
        host_owner: (u32, u32),
        host_probe: &Utf8Path,
    ) -> Result<(), StepError> {
        let guest = GuestId::Ct(vmid(id));
        let owner_s = format!("{}:{}", owner.0, owner.1);
        // Never follow a link the container could have put there (stat does not).
        let meta = self.fs.stat(host_probe).map_err(|source| StepError::Io {
            what: "cannot read",
            path: host_probe.to_owned(),
            source,
        })?;
        match meta {
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

/// The script of the one-exec proof (`sh -c`, its commands as arguments).
const PROVE_SH: &str = include_str!("prove.sh");

/// The output of the one-exec proof, split by command.
#[derive(Debug, Default)]
struct ProofRun {
    /// Per command (from 0): stdout, stderr and exit code, for those that ran.
    steps: BTreeMap<usize, (String, String, i32)>,
    /// The exit code of the whole exec and its stderr outside any step.
    code: Option<i32>,
    stray_stderr: String,
}

impl ProofRun {
    fn sections(text: &str) -> BTreeMap<usize, String> {
        let mut out: BTreeMap<usize, String> = BTreeMap::new();
        let mut current: Option<usize> = None;
        for line in text.split_inclusive('\n') {
            let bare = line.trim_end_matches('\n');
            if let Some(n) = bare.strip_prefix("@@phoenix-proof ") {
                current = n.parse::<usize>().ok().and_then(|n| n.checked_sub(1));
                if let Some(c) = current {
                    out.entry(c).or_default();
                }
                continue;
            }
            if bare.starts_with("@@phoenix-proof-exit ") {
                current = None;
                continue;
            }
            let key = current.unwrap_or(usize::MAX);
            out.entry(key).or_default().push_str(line);
        }
        out
    }

    fn parse(stdout: &str, stderr: &str, code: Option<i32>) -> ProofRun {
        let mut outs = Self::sections(stdout);
        let mut errs = Self::sections(stderr);
        let mut codes: BTreeMap<usize, i32> = BTreeMap::new();
        for line in stdout.lines() {
            if let Some(rest) = line.strip_prefix("@@phoenix-proof-exit ")
                && let Some((n, rc)) = rest.split_once(' ')
                && let (Ok(n), Ok(rc)) = (n.parse::<usize>(), rc.parse::<i32>())
                && n > 0
            {
                codes.insert(n - 1, rc);
            }
        }
        let steps = codes
            .into_iter()
            .map(|(k, rc)| {
                // The script ends each step's stdout with one newline of its own.
                let mut out = outs.remove(&k).unwrap_or_default();
                if out.ends_with('\n') {
                    out.pop();
                }
                (k, (out, errs.remove(&k).unwrap_or_default(), rc))
            })
            .collect();
        ProofRun {
            steps,
            code,
            stray_stderr: errs.remove(&usize::MAX).unwrap_or_default(),
        }
    }

    /// Whether command `k` ran (its effect may be on disk).
    fn ran(&self, k: usize) -> bool {
        self.steps.contains_key(&k)
    }

    /// Command `k`'s stdout, or why it failed: `what: `cmd` inside failed (rc): stderr`.
    fn result(&self, k: usize, cmd: &[String], what: &str) -> Result<String, ProofStepError> {
        let command = shown_command(cmd);
        match self.steps.get(&k) {
            Some((out, _, 0)) => Ok(out.clone()),
            Some((_, err, rc)) => Err(ProofStepError::Failed {
                step: what.to_owned(),
                command,
                code: *rc,
                stderr: err.trim().to_owned(),
            }),
            None => Err(ProofStepError::NotRun {
                step: what.to_owned(),
                command,
                exec_code: self.code,
                stderr: self.stray_stderr.trim().to_owned(),
            }),
        }
    }
}

/// A proof command as the one-exec-per-command proof printed it.
fn shown_command(cmd: &[String]) -> String {
    match cmd {
        [stat, path] if stat == "stat" => format!("stat -c %u %g {path}"),
        _ => cmd.join(" "),
    }
}

fn check_map(id: u32, kind: &str, expect: &[String], out: &str) -> Result<(), StepError> {
    let guest = GuestId::Ct(vmid(id));
    let seen = proc_map::parse(out).map_err(|e| StepError::Proof {
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

fn check_volume_inside(
    id: u32,
    where_: &str,
    owner: (u32, u32),
    seen: &str,
) -> Result<(), StepError> {
    let want = format!("{} {}", owner.0, owner.1);
    if seen.trim() != want {
        return Err(StepError::Proof {
            guest: GuestId::Ct(vmid(id)),
            reason: format!(
                "{where_}: inside it belongs to {} but should belong to {want}",
                seen.trim()
            ),
        });
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn the_one_exec_proof_is_split_by_command_and_names_the_one_that_failed() {
        let stdout = "@@phoenix-proof 1\n0 100000 65536\n\n@@phoenix-proof-exit 1 0\n\
                      @@phoenix-proof 2\n\n@@phoenix-proof-exit 2 1\n";
        let stderr =
            "@@phoenix-proof 1\n@@phoenix-proof 2\ncat: /proc/self/gid_map: No such file\n";
        let run = ProofRun::parse(stdout, stderr, Some(0));
        let uid = cmd(&["cat", "/proc/self/uid_map"]);
        let gid = cmd(&["cat", "/proc/self/gid_map"]);
        assert_eq!(
            run.result(0, &uid, "reading the kernel's map").unwrap(),
            "0 100000 65536\n"
        );
        let failed = run.result(1, &gid, "reading the kernel's map").unwrap_err();
        assert_eq!(
            failed,
            ProofStepError::Failed {
                step: "reading the kernel's map".into(),
                command: "cat /proc/self/gid_map".into(),
                code: 1,
                stderr: "cat: /proc/self/gid_map: No such file".into(),
            }
        );
        assert_eq!(
            failed.to_string(),
            "reading the kernel's map: `cat /proc/self/gid_map` inside failed (1): cat: /proc/self/gid_map: No such file"
        );
        assert!(!run.ran(2));
        // A command that never ran (the exec itself failed) names the exec's status.
        let stat = cmd(&["stat", "/data"]);
        assert_eq!(
            ProofRun::parse("", "sh: not found\n", Some(127))
                .result(0, &stat, "shared volume x (/srv/x at /data)")
                .unwrap_err()
                .to_string(),
            "shared volume x (/srv/x at /data): `stat -c %u %g /data` inside failed (127): sh: not found"
        );
    }
}
