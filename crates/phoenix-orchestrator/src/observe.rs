//! Observing the node: `pct list` once, `pct config` of every selected container that
//! exists (`jobs` at a time), the digest of its conf file, its snapshots when it is a
//! clone source, and the ledger of running containers that have installable features.
//! Everything here only reads.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use camino::Utf8Path;
use phoenix_pct::{CommandRunner, CtStatus, Effect, Invocation, Pct, PctError};
use phoenix_pveconf::Vmid;
use phoenix_pveconf::conf::CtConf;

use crate::hostfs::{file_digest, read_beneath, under_root};
use crate::ledger::{LEDGER_PATH, Ledger};

/// A container as found on the node.
#[derive(Debug, Clone)]
pub struct ObservedCt {
    /// `pct config` (pending values merged in).
    pub conf: CtConf,
    /// Running now.
    pub running: bool,
    /// SHA-1 of its conf file under the root (`None`: absent, as on a remote node).
    pub conf_digest: Option<String>,
    /// Its snapshots' names, when read (clone sources).
    pub snapshots: Option<Vec<String>>,
    /// Its ledger, when read (running containers with installable features).
    pub ledger: Option<Ledger>,
}

/// What to read beyond `pct config`.
#[derive(Debug, Clone, Default)]
pub struct ObserveWants {
    /// Containers whose snapshots matter (they have a template snapshot).
    pub snapshots: Vec<u32>,
    /// Containers whose ledger matters (they have features phoenix can install).
    pub ledgers: Vec<u32>,
}

/// The conf file path of a container, as on the host.
pub fn conf_file(vmid: u32) -> String {
    format!("/etc/pve/lxc/{vmid}.conf")
}

/// The digest of a container's conf file under `root`.
pub fn conf_digest(root: &Utf8Path, vmid: u32) -> Option<String> {
    file_digest(&under_root(root, Utf8Path::new(&conf_file(vmid))))
        .ok()
        .flatten()
}

/// A container's snapshot names from its conf file under `root` (Proxmox keeps each
/// snapshot as a `[name]` section of the conf), without a `pct listsnapshot`; `None`
/// when the file cannot be read here (then pct is asked).
pub fn conf_snapshots(root: &Utf8Path, vmid: u32) -> Option<Vec<String>> {
    let rel = conf_file(vmid);
    let bytes = read_beneath(root, Utf8Path::new(rel.trim_start_matches('/')))
        .ok()
        .flatten()?;
    let text = String::from_utf8(bytes).ok()?;
    Some(
        CtConf::parse(&text)
            .conf
            .snapshots()
            .iter()
            .filter_map(|s| s.name().map(str::to_owned))
            .collect(),
    )
}

/// A container's conf straight from its file under `root`, as `pct config` would show it,
/// when the file holds only the current configuration (no `[pve:pending]` section, no
/// snapshot): right after `pct create` or `pct clone` it does, and reading it costs no pct
/// call. `None` when the file cannot be read here or has other sections (then pct is
/// asked, which merges pending values and leaves snapshots out).
pub fn conf_of_file(root: &Utf8Path, vmid: u32) -> Option<CtConf> {
    let rel = conf_file(vmid);
    let bytes = read_beneath(root, Utf8Path::new(rel.trim_start_matches('/')))
        .ok()
        .flatten()?;
    let text = String::from_utf8(bytes).ok()?;
    let conf = CtConf::parse(&text).conf;
    (conf.pending().is_none() && conf.snapshots().is_empty()).then_some(conf)
}

/// Reads the ledger of a running container (`None`: it has none yet).
pub fn read_ledger(pct: &Pct<&dyn CommandRunner>, vmid: Vmid) -> Result<Option<Ledger>, PctError> {
    // `cat` of one file: a read, whatever `pct exec` could do in general.
    let inv = Invocation::new(pct.binary(), Effect::Read).args([
        "exec",
        &vmid.to_string(),
        "--",
        "cat",
        LEDGER_PATH,
    ]);
    let out = pct.runner().run(&inv)?;
    if !out.success() {
        return Ok(None);
    }
    Ok(Ledger::parse(&out.stdout_lossy()))
}

/// Observes `ids` (containers that do not exist are absent from the result).
pub fn observe(
    pct: &Pct<&dyn CommandRunner>,
    root: &Utf8Path,
    ids: &[u32],
    wants: &ObserveWants,
    jobs: usize,
) -> Result<BTreeMap<u32, ObservedCt>, PctError> {
    let listed: Vec<_> = pct
        .list()?
        .into_iter()
        .filter(|e| ids.contains(&e.vmid.get()))
        .collect();
    let next = AtomicUsize::new(0);
    let found = Mutex::new(Vec::with_capacity(listed.len()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, listed.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(entry) = listed.get(i) else { break };
                    let id = entry.vmid.get();
                    let running = entry.status == CtStatus::Running;
                    let seen = (|| -> Result<ObservedCt, PctError> {
                        let conf = pct.config(entry.vmid)?;
                        let template = conf.main().template().unwrap_or(false);
                        let snapshots = if wants.snapshots.contains(&id) {
                            match conf_snapshots(root, id) {
                                Some(names) => Some(names),
                                None => Some(
                                    pct.listsnapshot(entry.vmid)?
                                        .into_iter()
                                        .map(|s| s.name)
                                        .collect(),
                                ),
                            }
                        } else {
                            None
                        };
                        let ledger = if running && !template && wants.ledgers.contains(&id) {
                            Some(read_ledger(pct, entry.vmid)?.unwrap_or_default())
                        } else {
                            None
                        };
                        Ok(ObservedCt {
                            conf,
                            running,
                            conf_digest: conf_digest(root, id),
                            snapshots,
                            ledger,
                        })
                    })();
                    found
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((id, seen));
                }
            });
        }
    });
    let mut out = BTreeMap::new();
    for (id, seen) in found.into_inner().unwrap_or_else(|p| p.into_inner()) {
        out.insert(id, seen?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with_conf(text: &str) -> (tempfile::TempDir, camino::Utf8PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let root = camino::Utf8PathBuf::from_path_buf(t.path().to_path_buf()).unwrap();
        std::fs::create_dir_all(root.join("etc/pve/lxc")).unwrap();
        std::fs::write(root.join("etc/pve/lxc/7001.conf"), text).unwrap();
        (t, root)
    }

    #[test]
    fn the_conf_of_a_fresh_clone_is_read_from_its_file() {
        let (_t, root) =
            root_with_conf("arch: amd64\nhostname: a\nmemory: 64\nnet0: name=eth0,bridge=vmbr0\n");
        let conf = conf_of_file(&root, 7001).expect("a plain conf is read");
        assert_eq!(conf.get("hostname"), Some("a"));
        assert_eq!(conf.get("net0"), Some("name=eth0,bridge=vmbr0"));
        assert!(conf_of_file(&root, 7002).is_none(), "no file: ask pct");
    }

    #[test]
    fn a_conf_with_pending_values_or_snapshots_is_left_to_pct() {
        for text in [
            "memory: 64\n\n[pve:pending]\nmemory: 128\n",
            "memory: 64\nparent: s1\n\n[s1]\nmemory: 64\nsnaptime: 1\n",
        ] {
            let (_t, root) = root_with_conf(text);
            assert!(conf_of_file(&root, 7001).is_none(), "{text}");
        }
    }
}
