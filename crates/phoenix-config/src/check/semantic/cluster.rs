//! Checks on the hypervisor's `cluster` section and the containers' `node`: one secret
//! source, one way to trust the API's certificate, nodes that exist.

use super::{Ctx, ct, elsewhere};
use crate::check::suggest;
use crate::model::cluster::Cluster;
use crate::schema::ConfigFile::{Hypervisor, Lxc};

/// Exactly one of two optional fields, or an error naming both.
fn exactly_one(ctx: &mut Ctx<'_>, (a, a_set): (&str, bool), (b, b_set): (&str, bool), what: &str) {
    match (a_set, b_set) {
        (true, true) => {
            let pointer = format!("/cluster/{b}");
            ctx.error(
                Hypervisor,
                &pointer,
                format!("{b} at {pointer}: {a} is set too; give one {what}, not both"),
            );
        }
        (false, false) => ctx.error(
            Hypervisor,
            "/cluster",
            format!("cluster at /cluster: no {what}: set {a} or {b}"),
        ),
        _ => {}
    }
}

/// `" (did you mean \"x\"?)"` for a likely typo of a node name, else nothing.
fn did_you_mean(cluster: &Cluster, name: &str) -> String {
    suggest(name, cluster.nodes.keys().map(|n| n.as_str()))
        .map(|s| format!(" (did you mean \"{s}\"?)"))
        .unwrap_or_default()
}

pub(super) fn checks(ctx: &mut Ctx<'_>) {
    let cluster = ctx.fleet.hypervisor.cluster.as_ref();
    if let Some(c) = cluster {
        exactly_one(
            ctx,
            ("token_secret_file", c.token_secret_file.is_some()),
            ("token_secret_env", c.token_secret_env.is_some()),
            "source of the token's secret",
        );
        exactly_one(
            ctx,
            ("fingerprint", c.fingerprint.is_some()),
            ("ca_file", c.ca_file.is_some()),
            "way to check the API's certificate",
        );
        if c.nodes.is_empty() {
            ctx.error(
                Hypervisor,
                "/cluster/nodes",
                "cluster.nodes at /cluster/nodes: no node; the node path needs each node's ssh_host",
            );
        }
        if let Some(local) = &c.local_node
            && !c.nodes.contains_key(local)
        {
            ctx.error(
                Hypervisor,
                "/cluster/local_node",
                format!(
                    "unknown node \"{local}\" at /cluster/local_node: cluster.nodes has no such node{}",
                    did_you_mean(c, local.as_str())
                ),
            );
        }
    }
    let named: Vec<_> = ctx
        .containers()
        .filter_map(|(id, c)| c.node.as_ref().map(|n| (id, n)))
        .collect();
    for (id, node) in named {
        let pointer = format!("{}/node", ct(id));
        let file = elsewhere(Lxc, Hypervisor);
        match cluster {
            None => ctx.error(
                Lxc,
                &pointer,
                format!(
                    "node \"{node}\" at {pointer}: there is no cluster section{file}, so no node to name; add one or remove node"
                ),
            ),
            Some(c) if !c.nodes.contains_key(node) => ctx.error(
                Lxc,
                &pointer,
                format!(
                    "unknown node \"{node}\" at {pointer}: cluster.nodes{file} has no such node{}",
                    did_you_mean(c, node.as_str())
                ),
            ),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::validate_fleet;

    fn fleet(cluster: &str, node: Option<&str>) -> crate::Fleet {
        let dir =
            camino::Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/example");
        let mut fleet = crate::load_dir(&dir).unwrap().fleet;
        if !cluster.is_empty() {
            fleet.hypervisor.cluster = Some(serde_json::from_str(cluster).unwrap());
        }
        let c = fleet.lxc.lxc_configs.values_mut().next().unwrap();
        c.node = node.map(|n| n.parse().unwrap());
        fleet
    }

    fn messages(fleet: &crate::Fleet) -> Vec<String> {
        validate_fleet(fleet)
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    const BASE: &str = r#""api_url": "https://pve1:8006", "token_id": "phoenix@pve!converge",
        "ssh_known_hosts": "/etc/phoenix/known_hosts",
        "nodes": {"pve1": {"ssh_host": "10.0.0.11"}, "pve2": {"ssh_host": "10.0.0.12"}}"#;

    fn cluster(extra: &str) -> String {
        format!("{{{BASE}{extra}}}")
    }

    #[test]
    fn one_secret_and_one_trust_source_and_known_nodes_are_valid() {
        let c = cluster(
            r#", "token_secret_env": "PVE_TOKEN", "ca_file": "/etc/pve/pve-root-ca.pem", "local_node": "pve1""#,
        );
        assert_eq!(messages(&fleet(&c, Some("pve2"))), Vec::<String>::new());
    }

    #[test]
    fn two_or_no_secret_sources_are_errors() {
        let both = cluster(
            r#", "token_secret_env": "T", "token_secret_file": "/etc/t", "fingerprint": "00000000000000000000000000000000000000000000000000000000000000aa""#,
        );
        assert_eq!(
            messages(&fleet(&both, None)),
            vec![
                "token_secret_env at /cluster/token_secret_env: token_secret_file is set too; give one source of the token's secret, not both"
            ]
        );
        let none = cluster(r#", "ca_file": "/etc/ca.pem""#);
        assert_eq!(
            messages(&fleet(&none, None)),
            vec![
                "cluster at /cluster: no source of the token's secret: set token_secret_file or token_secret_env"
            ]
        );
    }

    #[test]
    fn two_or_no_trust_sources_are_errors() {
        let both = cluster(
            r#", "token_secret_env": "T", "ca_file": "/etc/ca.pem", "fingerprint": "00000000000000000000000000000000000000000000000000000000000000aa""#,
        );
        assert_eq!(
            messages(&fleet(&both, None)),
            vec![
                "ca_file at /cluster/ca_file: fingerprint is set too; give one way to check the API's certificate, not both"
            ]
        );
        let none = cluster(r#", "token_secret_env": "T""#);
        assert_eq!(
            messages(&fleet(&none, None)),
            vec![
                "cluster at /cluster: no way to check the API's certificate: set fingerprint or ca_file"
            ]
        );
    }

    #[test]
    fn unknown_nodes_are_errors_with_a_suggestion() {
        let c = cluster(r#", "token_secret_env": "T", "ca_file": "/c", "local_node": "pve3""#);
        assert_eq!(
            messages(&fleet(&c, Some("pve9"))),
            vec![
                "unknown node \"pve3\" at /cluster/local_node: cluster.nodes has no such node (did you mean \"pve1\"?)",
                "unknown node \"pve9\" at /lxc_configs/101/node: cluster.nodes in phoenix_hypervisor_config.json has no such node (did you mean \"pve1\"?)",
            ]
        );
        let empty = r#"{"api_url": "https://pve1", "token_id": "a@pve!tk", "token_secret_env": "T",
            "ca_file": "/c", "ssh_known_hosts": "/k", "nodes": {}}"#;
        assert_eq!(
            messages(&fleet(empty, None)),
            vec![
                "cluster.nodes at /cluster/nodes: no node; the node path needs each node's ssh_host"
            ]
        );
    }

    #[test]
    fn a_node_without_a_cluster_is_an_error() {
        assert_eq!(
            messages(&fleet("", Some("pve1"))),
            vec![
                "node \"pve1\" at /lxc_configs/101/node: there is no cluster section in phoenix_hypervisor_config.json, so no node to name; add one or remove node"
            ]
        );
    }
}
