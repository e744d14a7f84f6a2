//! The emulated cluster's state under `PHOENIX_ROOT` (R):
//!
//! ```text
//! R/node/<N>/                       node N's root (its PHOENIX_ROOT for pct and phoenix)
//! R/node/<N>/etc/hostname           "N"
//! R/node/<N>/etc/pve/nodes/<N>/lxc/ node N's own CT confs (authoritative)
//! R/node/<N>/etc/pve/lxc            -> nodes/N/lxc (relative symlink, as pmxcfs has it)
//! R/node/<N>/etc/pve/nodes/<M>/lxc/ copies of node M's confs (replicated)
//! R/node/<N>/etc/pve/.vmlist        {"version":1,"ids":{"101":{"node":..,"type":"lxc","version":1}}}
//! R/node/<N>/var/lib/vz/template/cache/phoenix-busybox_amd64.tar.gz   the OS template
//! R/ssh/known_hosts                 "N ssh-ed25519 <key>" per node
//! R/ssh/nodes.json                  {"N": {"root": "R/node/N"}}
//! ```
//!
//! Storage is the pct emulator's default (`local` dir and `local-zfs`, neither shared),
//! as a fresh root has it; the template is built as `phoenix-mktemplate` builds it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pct_emulator::root::write_atomic;
use phoenix_pveconf::api::NodeName;
use serde_json::{Value, json};

use crate::error::EmuError;

/// The cluster: its state root and its nodes, in the order given.
#[derive(Debug, Clone)]
pub struct Cluster {
    root: PathBuf,
    nodes: Vec<NodeName>,
}

impl Cluster {
    /// A cluster of `nodes` with its state under `root` (an absolute path is best: the
    /// roots written to `nodes.json` are under it).
    pub fn new(root: impl Into<PathBuf>, nodes: Vec<NodeName>) -> Self {
        Cluster {
            root: root.into(),
            nodes,
        }
    }

    /// The state root R.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The nodes.
    pub fn nodes(&self) -> &[NodeName] {
        &self.nodes
    }

    /// The node called `name`, if the cluster has it.
    pub fn node(&self, name: &str) -> Option<&NodeName> {
        self.nodes.iter().find(|n| n.as_str() == name)
    }

    /// `R/node/N`.
    pub fn node_root(&self, node: &NodeName) -> PathBuf {
        self.root.join("node").join(node.as_str())
    }

    /// `etc/pve/nodes/<owner>/lxc` in `viewer`'s root.
    pub fn conf_dir(&self, viewer: &NodeName, owner: &NodeName) -> PathBuf {
        self.node_root(viewer)
            .join("etc/pve/nodes")
            .join(owner.as_str())
            .join("lxc")
    }

    /// Node `node`'s own conf of `vmid` (the authoritative copy).
    pub fn own_conf(&self, node: &NodeName, vmid: u32) -> PathBuf {
        self.conf_dir(node, node).join(format!("{vmid}.conf"))
    }

    /// `R/ssh`.
    pub fn ssh_dir(&self) -> PathBuf {
        self.root.join("ssh")
    }

    /// Makes every node root ready (idempotent: a second start keeps the CTs, the
    /// template and the ssh host keys). `busybox` is the binary the OS template is
    /// built from; `key_bytes` gives 32 random bytes for each new host key.
    pub fn prepare(
        &self,
        busybox: &Path,
        mut key_bytes: impl FnMut() -> [u8; 32],
    ) -> Result<(), EmuError> {
        let tmpl_rel =
            Path::new("var/lib/vz/template/cache").join(pct_emulator::template::TEMPLATE_NAME);
        let mut built: Option<PathBuf> = None;
        for node in &self.nodes {
            let nroot = self.node_root(node);
            let own = self.conf_dir(node, node);
            std::fs::create_dir_all(&own).map_err(EmuError::io(&own))?;
            let hostname = nroot.join("etc/hostname");
            write_atomic(&hostname, format!("{node}\n").as_bytes())
                .map_err(EmuError::io(&hostname))?;
            link_conf_dir(&nroot.join("etc/pve/lxc"), node)?;
            let tmpl = nroot.join(&tmpl_rel);
            if !tmpl.exists() {
                match &built {
                    Some(src) => {
                        std::fs::create_dir_all(tmpl.parent().expect("has a parent"))
                            .map_err(EmuError::io(&tmpl))?;
                        std::fs::copy(src, &tmpl).map_err(EmuError::io(&tmpl))?;
                    }
                    None => pct_emulator::template::build_tarball(busybox, &tmpl)?,
                }
            }
            built.get_or_insert(tmpl);
        }
        self.write_ssh_files(&mut key_bytes)?;
        self.replicate()?;
        Ok(())
    }

    fn write_ssh_files(&self, key_bytes: &mut impl FnMut() -> [u8; 32]) -> Result<(), EmuError> {
        let dir = self.ssh_dir();
        let kh_path = dir.join("known_hosts");
        let old = match std::fs::read_to_string(&kh_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(EmuError::io(&kh_path)(e)),
        };
        let mut keys = parse_known_hosts(&old);
        let mut text = String::new();
        for node in &self.nodes {
            let key = keys
                .remove(node.as_str())
                .unwrap_or_else(|| ("ssh-ed25519".to_owned(), fake_ed25519_key(&key_bytes())));
            text.push_str(&format!("{node} {} {}\n", key.0, key.1));
        }
        write_atomic(&kh_path, text.as_bytes()).map_err(EmuError::io(&kh_path))?;
        let map: serde_json::Map<String, Value> = self
            .nodes
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    json!({"root": self.node_root(n).display().to_string()}),
                )
            })
            .collect();
        let nj = dir.join("nodes.json");
        let body = serde_json::to_string_pretty(&Value::Object(map)).expect("json") + "\n";
        write_atomic(&nj, body.as_bytes()).map_err(EmuError::io(&nj))
    }

    /// Every CT of the cluster and its node, read from the owners' own conf dirs.
    pub fn vmlist(&self) -> BTreeMap<u32, NodeName> {
        let mut out = BTreeMap::new();
        for node in &self.nodes {
            for vmid in conf_ids(&self.conf_dir(node, node)) {
                out.entry(vmid).or_insert_with(|| node.clone());
            }
        }
        out
    }

    /// The node that owns `vmid`.
    pub fn owner(&self, vmid: u32) -> Option<NodeName> {
        self.nodes
            .iter()
            .find(|n| self.own_conf(n, vmid).is_file())
            .cloned()
    }

    /// pmxcfs by copying: each node's own confs into every other node's
    /// `etc/pve/nodes/<owner>/lxc/` (stale copies removed), and `etc/pve/.vmlist` in
    /// every node root. Files that did not change are not rewritten.
    pub fn replicate(&self) -> Result<(), EmuError> {
        for owner in &self.nodes {
            let src_dir = self.conf_dir(owner, owner);
            let ids = conf_ids(&src_dir);
            for viewer in self.nodes.iter().filter(|v| *v != owner) {
                let dst_dir = self.conf_dir(viewer, owner);
                std::fs::create_dir_all(&dst_dir).map_err(EmuError::io(&dst_dir))?;
                for id in &ids {
                    let src = src_dir.join(format!("{id}.conf"));
                    let dst = dst_dir.join(format!("{id}.conf"));
                    let Ok(bytes) = std::fs::read(&src) else {
                        continue; // removed meanwhile: the next round drops the copy
                    };
                    if std::fs::read(&dst).ok().as_deref() != Some(&bytes[..]) {
                        write_atomic(&dst, &bytes).map_err(EmuError::io(&dst))?;
                    }
                }
                for stale in conf_ids(&dst_dir).into_iter().filter(|i| !ids.contains(i)) {
                    let p = dst_dir.join(format!("{stale}.conf"));
                    match std::fs::remove_file(&p) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(EmuError::io(&p)(e)),
                    }
                }
            }
        }
        let body = vmlist_json(&self.vmlist());
        for node in &self.nodes {
            let p = self.node_root(node).join("etc/pve/.vmlist");
            if std::fs::read_to_string(&p).ok().as_deref() != Some(&body[..]) {
                write_atomic(&p, body.as_bytes()).map_err(EmuError::io(&p))?;
            }
        }
        Ok(())
    }
}

/// `etc/pve/lxc` -> `nodes/N/lxc`; an existing symlink elsewhere is replaced, an existing
/// directory is an error (its confs would be lost).
fn link_conf_dir(link: &Path, node: &NodeName) -> Result<(), EmuError> {
    let target = PathBuf::from(format!("nodes/{node}/lxc"));
    match std::fs::symlink_metadata(link) {
        Ok(m) if m.file_type().is_symlink() => {
            if std::fs::read_link(link).map_err(EmuError::io(link))? == target {
                return Ok(());
            }
            std::fs::remove_file(link).map_err(EmuError::io(link))?;
        }
        Ok(_) => {
            return Err(EmuError::Invalid {
                path: link.to_owned(),
                msg: format!("is not a symlink to {}", target.display()),
            });
        }
        Err(_) => {}
    }
    std::os::unix::fs::symlink(&target, link).map_err(EmuError::io(link))
}

/// The ids of the `<id>.conf` files in `dir` (nothing when it is missing).
fn conf_ids(dir: &Path) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut ids: Vec<u32> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let id = name.strip_suffix(".conf")?;
            (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                .then(|| id.parse().ok())
                .flatten()
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// The `.vmlist` text pmxcfs would show for `ids`.
pub fn vmlist_json(ids: &BTreeMap<u32, NodeName>) -> String {
    let map: serde_json::Map<String, Value> = ids
        .iter()
        .map(|(id, node)| {
            (
                id.to_string(),
                json!({"node": node.as_str(), "type": "lxc", "version": 1}),
            )
        })
        .collect();
    serde_json::to_string(&json!({"version": 1, "ids": map})).expect("json") + "\n"
}

/// `host -> (type, base64 key)` from a known_hosts text (the first name of each line's
/// comma-separated host list; comments and markers skipped).
pub fn parse_known_hosts(text: &str) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
            continue;
        }
        let mut f = line.split_whitespace();
        let (Some(hosts), Some(kind), Some(key)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        for host in hosts.split(',') {
            out.entry(host.to_owned())
                .or_insert_with(|| (kind.to_owned(), key.to_owned()));
        }
    }
    out
}

/// An ed25519 public key blob in OpenSSH's wire format, base64: `string "ssh-ed25519"`,
/// `string <32 bytes>` (the bytes are random: nobody ever signs with it).
pub fn fake_ed25519_key(bytes: &[u8; 32]) -> String {
    let mut blob = Vec::with_capacity(51);
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(bytes);
    base64(&blob)
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(names: &[&str]) -> Vec<NodeName> {
        names.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert!(fake_ed25519_key(&[0; 32]).starts_with("AAAAC3NzaC1lZDI1NTE5AAAAI"));
    }

    #[test]
    fn known_hosts_lines_are_read_per_host() {
        let k = parse_known_hosts("# c\npve1,10.0.0.1 ssh-ed25519 AAAA\n@revoked x y z\n\nbad\n");
        assert_eq!(k["pve1"], ("ssh-ed25519".into(), "AAAA".into()));
        assert_eq!(k["10.0.0.1"].1, "AAAA");
        assert_eq!(k.len(), 2);
    }

    #[test]
    fn replication_copies_owners_confs_and_drops_stale_copies() {
        let t = tempfile::tempdir().unwrap();
        let c = Cluster::new(t.path(), nodes(&["pve1", "pve2"]));
        let (p1, p2) = (&c.nodes()[0].clone(), &c.nodes()[1].clone());
        for n in c.nodes() {
            std::fs::create_dir_all(c.conf_dir(n, n)).unwrap();
        }
        std::fs::write(c.own_conf(p1, 101), "memory: 64\n").unwrap();
        std::fs::write(c.own_conf(p2, 202), "memory: 96\n").unwrap();
        std::fs::write(c.conf_dir(p1, p1).join(".101.conf.tmp.1"), "x").unwrap();
        c.replicate().unwrap();
        assert_eq!(
            std::fs::read_to_string(c.conf_dir(p2, p1).join("101.conf")).unwrap(),
            "memory: 64\n"
        );
        assert!(c.conf_dir(p1, p2).join("202.conf").is_file());
        assert!(!c.conf_dir(p2, p1).join(".101.conf.tmp.1").exists());
        let vmlist = std::fs::read_to_string(c.node_root(p2).join("etc/pve/.vmlist")).unwrap();
        assert_eq!(
            vmlist,
            "{\"version\":1,\"ids\":{\"101\":{\"node\":\"pve1\",\"type\":\"lxc\",\"version\":1},\"202\":{\"node\":\"pve2\",\"type\":\"lxc\",\"version\":1}}}\n"
        );
        assert_eq!(c.owner(202), Some(p2.clone()));
        std::fs::remove_file(c.own_conf(p1, 101)).unwrap();
        c.replicate().unwrap();
        assert!(!c.conf_dir(p2, p1).join("101.conf").exists());
        assert_eq!(c.vmlist().len(), 1);
    }

    #[test]
    fn prepare_links_the_conf_dir_and_keeps_host_keys() {
        if !Path::new("/bin/busybox").exists() {
            eprintln!("skipped: needs /bin/busybox");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let c = Cluster::new(t.path(), nodes(&["pve1", "pve2"]));
        c.prepare(Path::new("/bin/busybox"), || [7; 32]).unwrap();
        let n2 = &c.nodes()[1];
        assert_eq!(
            std::fs::read_link(c.node_root(n2).join("etc/pve/lxc")).unwrap(),
            Path::new("nodes/pve2/lxc")
        );
        assert_eq!(
            std::fs::read_to_string(c.node_root(n2).join("etc/hostname")).unwrap(),
            "pve2\n"
        );
        assert!(
            c.node_root(n2)
                .join("var/lib/vz/template/cache/phoenix-busybox_amd64.tar.gz")
                .is_file()
        );
        let kh = std::fs::read_to_string(c.ssh_dir().join("known_hosts")).unwrap();
        c.prepare(Path::new("/bin/busybox"), || [9; 32]).unwrap();
        assert_eq!(
            std::fs::read_to_string(c.ssh_dir().join("known_hosts")).unwrap(),
            kh,
            "a restart keeps the host keys"
        );
        let nj: Value =
            serde_json::from_str(&std::fs::read_to_string(c.ssh_dir().join("nodes.json")).unwrap())
                .unwrap();
        assert_eq!(nj["pve2"]["root"], c.node_root(n2).display().to_string());
    }
}
