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

/// The node and kind of guest `id` when it is on another node than `local`, from
/// `/etc/pve/.vmlist` or, without it, the `nodes/*/lxc` and `nodes/*/qemu-server` confs.
pub fn elsewhere(root: &Utf8Path, local: Option<&str>, id: u32) -> Option<Elsewhere> {
    let vmlist = root.join("etc/pve/.vmlist");
    if let Ok(text) = std::fs::read_to_string(&vmlist)
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        && let Some(entry) = v["ids"].get(id.to_string())
    {
        let node = entry["node"].as_str()?.to_owned();
        let kind = entry["type"].as_str().unwrap_or("lxc").to_owned();
        return (Some(node.as_str()) != local).then(|| Elsewhere {
            node,
            kind,
            source: "/etc/pve/.vmlist".into(),
        });
    }
    let nodes = std::fs::read_dir(root.join("etc/pve/nodes")).ok()?;
    for n in nodes.flatten() {
        let node = n.file_name().to_string_lossy().into_owned();
        for (dir, kind) in [("lxc", "lxc"), ("qemu-server", "qemu")] {
            let conf = n.path().join(dir).join(format!("{id}.conf"));
            if conf.is_file() && (Some(node.as_str()) != local || kind == "qemu") {
                return Some(Elsewhere {
                    source: format!("/etc/pve/nodes/{node}/{dir}/{id}.conf").into(),
                    node,
                    kind: kind.to_owned(),
                });
            }
        }
    }
    None
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
