//! Guests of other cluster nodes. In a Proxmox cluster `/etc/pve` is shared: every
//! node sees `/etc/pve/nodes/<node>/lxc/<id>.conf` (and `qemu-server/`) of all nodes,
//! and `/etc/pve/.vmlist` names the node of every guest id; `/etc/pve/lxc` is a link to
//! the local node's directory. `pct` on this node cannot change a guest of another
//! node (and `pct create` of its id fails), so phoenix says so before any mutating
//! call.

use camino::{Utf8Path, Utf8PathBuf};

/// Where a guest id lives when it is not on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elsewhere {
    /// The node.
    pub node: String,
    /// `lxc` or `qemu`.
    pub kind: String,
    /// The conf file or list that says so (as on the host).
    pub source: Utf8PathBuf,
}

/// The local node's name: what `/etc/pve/lxc` links to (`nodes/<node>/lxc`), else the
/// first label of `/etc/hostname` under the root.
pub fn local_node(root: &Utf8Path) -> Option<String> {
    let link = root.join("etc/pve/lxc");
    if let Ok(target) = std::fs::read_link(&link) {
        let t = target.to_string_lossy().into_owned();
        let parts: Vec<&str> = t.trim_end_matches('/').rsplit('/').collect();
        if parts.len() >= 2 && parts[0] == "lxc" {
            return Some(parts[1].to_owned());
        }
    }
    let name = std::fs::read_to_string(root.join("etc/hostname")).ok()?;
    let first = name.trim().split('.').next()?.to_owned();
    (!first.is_empty()).then_some(first)
}

/// What `/etc/pve` says about the cluster's guests, read once for a whole plan (a plan
/// of 10,000 new containers asks about each of them).
#[derive(Debug, Default)]
pub struct Cluster {
    /// `/etc/pve/.vmlist`'s `ids` (`None`: no readable list).
    vmlist: Option<serde_json::Map<String, serde_json::Value>>,
    /// Every node under `/etc/pve/nodes`, in directory order.
    nodes: Vec<Node>,
}

/// A node's directory under `/etc/pve/nodes`.
#[derive(Debug)]
struct Node {
    name: String,
    path: std::path::PathBuf,
    /// The entries of its `lxc` and `qemu-server` directories ([`GUEST_DIRS`]).
    entries: [std::collections::BTreeSet<String>; 2],
}

/// The guest directories of a node and the kind of guest each holds.
const GUEST_DIRS: [(&str, &str); 2] = [("lxc", "lxc"), ("qemu-server", "qemu")];

impl Cluster {
    /// Reads `/etc/pve/.vmlist` and lists `/etc/pve/nodes/*/{lxc,qemu-server}` under
    /// `root`; what is missing or unreadable is left out.
    pub fn read(root: &Utf8Path) -> Cluster {
        let vmlist = std::fs::read_to_string(root.join("etc/pve/.vmlist"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(
                |mut v| match v.get_mut("ids").map(serde_json::Value::take) {
                    Some(serde_json::Value::Object(ids)) => Some(ids),
                    _ => None,
                },
            );
        let mut nodes = Vec::new();
        if let Ok(dir) = std::fs::read_dir(root.join("etc/pve/nodes")) {
            for n in dir.flatten() {
                let name = n.file_name().to_string_lossy().into_owned();
                let entries = GUEST_DIRS.map(|(dir, _)| {
                    std::fs::read_dir(n.path().join(dir))
                        .map(|d| {
                            d.flatten()
                                .filter_map(|e| e.file_name().into_string().ok())
                                .collect()
                        })
                        .unwrap_or_default()
                });
                nodes.push(Node {
                    name,
                    path: n.path(),
                    entries,
                });
            }
        }
        Cluster { vmlist, nodes }
    }

    /// The node and kind of guest `id` when it is on another node than `local`, from
    /// `/etc/pve/.vmlist` or, when it does not name `id`, the `nodes/*/lxc` and
    /// `nodes/*/qemu-server` confs.
    pub fn elsewhere(&self, local: Option<&str>, id: u32) -> Option<Elsewhere> {
        if let Some(entry) = self
            .vmlist
            .as_ref()
            .and_then(|ids| ids.get(&id.to_string()))
        {
            let node = entry["node"].as_str()?.to_owned();
            let kind = entry["type"].as_str().unwrap_or("lxc").to_owned();
            return (Some(node.as_str()) != local).then(|| Elsewhere {
                node,
                kind,
                source: "/etc/pve/.vmlist".into(),
            });
        }
        let file = format!("{id}.conf");
        for n in &self.nodes {
            let node = &n.name;
            for ((dir, kind), names) in GUEST_DIRS.iter().zip(&n.entries) {
                if names.contains(&file)
                    && n.path.join(dir).join(&file).is_file()
                    && (Some(node.as_str()) != local || *kind == "qemu")
                {
                    return Some(Elsewhere {
                        source: format!("/etc/pve/nodes/{node}/{dir}/{file}").into(),
                        node: node.clone(),
                        kind: (*kind).to_owned(),
                    });
                }
            }
        }
        None
    }
}

/// The refusal for a guest found elsewhere.
pub fn refusal(id: u32, e: &Elsewhere) -> String {
    if e.kind == "qemu" {
        format!(
            "CT {id}: the id is taken by a VM on node {} ({}); give the container another id",
            e.node, e.source
        )
    } else {
        format!(
            "CT {id} exists on cluster node {} ({}), not on this node: pct here cannot change it; run phoenix on {}, or migrate it here (pct migrate {id} <this node>)",
            e.node, e.source, e.node
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/etc/pve` read again for each id, as a test changes it.
    fn elsewhere(root: &Utf8Path, local: Option<&str>, id: u32) -> Option<Elsewhere> {
        Cluster::read(root).elsewhere(local, id)
    }

    #[test]
    fn a_guest_of_another_node_is_found_by_vmlist_or_by_its_conf() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8Path::from_path(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("etc/pve/nodes/pve1/lxc")).unwrap();
        std::fs::create_dir_all(root.join("etc/pve/nodes/pve2/lxc")).unwrap();
        std::fs::create_dir_all(root.join("etc/pve/nodes/pve2/qemu-server")).unwrap();
        std::os::unix::fs::symlink("nodes/pve1/lxc", root.join("etc/pve/lxc")).unwrap();
        std::fs::write(root.join("etc/pve/nodes/pve2/lxc/200.conf"), "memory: 64\n").unwrap();
        std::fs::write(
            root.join("etc/pve/nodes/pve2/qemu-server/300.conf"),
            "memory: 64\n",
        )
        .unwrap();
        std::fs::write(root.join("etc/pve/nodes/pve1/lxc/100.conf"), "memory: 64\n").unwrap();
        let local = local_node(root);
        assert_eq!(local.as_deref(), Some("pve1"));
        assert_eq!(elsewhere(root, local.as_deref(), 100), None);
        let e = elsewhere(root, local.as_deref(), 200).unwrap();
        assert_eq!(
            refusal(200, &e),
            "CT 200 exists on cluster node pve2 (/etc/pve/nodes/pve2/lxc/200.conf), not on this node: pct here cannot change it; run phoenix on pve2, or migrate it here (pct migrate 200 <this node>)"
        );
        let vm = elsewhere(root, local.as_deref(), 300).unwrap();
        assert_eq!(
            refusal(300, &vm),
            "CT 300: the id is taken by a VM on node pve2 (/etc/pve/nodes/pve2/qemu-server/300.conf); give the container another id"
        );
        std::fs::write(
            root.join("etc/pve/.vmlist"),
            r#"{"version": 3, "ids": {"200": {"node": "pve2", "type": "lxc", "version": 1}, "100": {"node": "pve1", "type": "lxc", "version": 2}}}"#,
        )
        .unwrap();
        assert_eq!(elsewhere(root, local.as_deref(), 100), None);
        assert_eq!(
            elsewhere(root, local.as_deref(), 200).unwrap().source,
            "/etc/pve/.vmlist"
        );
        assert_eq!(elsewhere(root, local.as_deref(), 999), None);
    }
}
