//! The fleet's NGINX gateway (`gateway` in the hypervisor file): it runs in a
//! container of the fleet, its certificate paths are safe to write into an NGINX
//! configuration, a container asking for TLS has a certificate to be served with,
//! and the gateway container does not proxy to the port NGINX itself listens on.
//! (That no two containers claim one route is `container::gateways`; that every
//! exposed container has an address is the schema's: `network_config.ip` is required.)

use super::{Ctx, Guest, ct};
use crate::schema::ConfigFile::{Hypervisor, Lxc};

/// Characters NGINX reads as syntax (or, `$`, as a variable) in an unquoted
/// argument; a certificate path holding one would break or change the configuration.
const NGINX_SYNTAX: &str = ";{}#'\"$\\";

pub(super) fn checks(ctx: &mut Ctx<'_>) {
    let exposed: Vec<_> = ctx
        .containers()
        .filter_map(|(id, c)| c.gateway.as_ref().map(|g| (id, g)))
        .collect();
    let Some(gw) = &ctx.fleet.hypervisor.gateway else {
        for (id, _) in exposed {
            let pointer = format!("{}/gateway", ct(id));
            ctx.warning(
                Lxc,
                &pointer,
                format!("gateway at {pointer}: phoenix_hypervisor_config.json names no gateway container (gateway.ctid), so nothing serves this route"),
            );
        }
        return;
    };
    match ctx.guests.get(&gw.ctid) {
        Some(Guest::Container(_)) => {}
        Some(Guest::Vm(..)) => ctx.error(
            Hypervisor,
            "/gateway/ctid",
            format!("gateway container {} at /gateway/ctid: is a VM; the gateway runs in a container of phoenix_lxc_configs.json", gw.ctid),
        ),
        None => ctx.error(
            Hypervisor,
            "/gateway/ctid",
            format!("unknown gateway container {} at /gateway/ctid: phoenix_lxc_configs.json has no such container", gw.ctid),
        ),
    }
    if let Some(tls) = &gw.tls {
        for (field, path) in [("certificate", &tls.certificate), ("key", &tls.key)] {
            if let Some(c) = path.as_str().chars().find(|c| NGINX_SYNTAX.contains(*c)) {
                let pointer = format!("/gateway/tls/{field}");
                ctx.error(
                    Hypervisor,
                    &pointer,
                    format!(
                        "invalid {field} path \"{path}\" at {pointer}: NGINX reads {c:?} as syntax"
                    ),
                );
            }
        }
    }
    for (id, g) in exposed {
        if g.tls == Some(true) && gw.tls.is_none() {
            let pointer = format!("{}/gateway/tls", ct(id));
            ctx.error(
                Lxc,
                &pointer,
                format!("tls at {pointer}: the gateway has no certificate; set gateway.tls in phoenix_hypervisor_config.json"),
            );
        }
        // NGINX listens on 80, and on 443 whenever the gateway has a certificate.
        let own_port = g.upstream_port == 80 || (gw.tls.is_some() && g.upstream_port == 443);
        if id == gw.ctid && own_port {
            let pointer = format!("{}/gateway/upstream_port", ct(id));
            ctx.error(
                Lxc,
                &pointer,
                format!("gateway upstream port {} at {pointer}: container {id} is the gateway and NGINX listens on that port; the route would proxy to itself", g.upstream_port),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::gateway::{FleetGateway, GatewayTls};
    use crate::{load_dir, validate_fleet};

    fn example() -> crate::Fleet {
        let dir =
            camino::Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/example");
        load_dir(&dir).unwrap().fleet
    }

    fn messages(fleet: &crate::Fleet) -> Vec<String> {
        validate_fleet(fleet)
            .into_iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn the_gateway_must_be_a_container_of_the_fleet() {
        let mut fleet = example();
        fleet.hypervisor.gateway.as_mut().unwrap().ctid = "105".parse().unwrap();
        assert_eq!(
            messages(&fleet),
            vec![
                "phoenix_hypervisor_config.json: unknown gateway container 105 at /gateway/ctid: phoenix_lxc_configs.json has no such container"
            ]
        );
    }

    #[test]
    fn certificate_paths_nginx_would_misread_are_errors() {
        let mut fleet = example();
        fleet.hypervisor.gateway.as_mut().unwrap().tls = Some(GatewayTls {
            certificate: "/etc/ssl/$host.crt".parse().unwrap(),
            key: "/etc/ssl/a;b.key".parse().unwrap(),
        });
        assert_eq!(
            messages(&fleet),
            vec![
                "phoenix_hypervisor_config.json: invalid certificate path \"/etc/ssl/$host.crt\" at /gateway/tls/certificate: NGINX reads '$' as syntax",
                "phoenix_hypervisor_config.json: invalid key path \"/etc/ssl/a;b.key\" at /gateway/tls/key: NGINX reads ';' as syntax",
            ]
        );
    }

    #[test]
    fn tls_without_a_certificate_and_a_gateway_proxying_to_itself_are_errors() {
        let mut fleet = example();
        fleet.hypervisor.gateway = Some(FleetGateway {
            ctid: "101".parse().unwrap(),
            tls: None,
            http: Default::default(),
        });
        let id = "102".parse().unwrap();
        fleet
            .lxc
            .lxc_configs
            .get_mut(&id)
            .unwrap()
            .gateway
            .as_mut()
            .unwrap()
            .tls = Some(true);
        let gw = "101".parse().unwrap();
        let mut own = fleet.lxc.lxc_configs[&id].gateway.clone().unwrap();
        own.path_prefix = Some("/status/".parse().unwrap());
        own.upstream_port = 80;
        own.tls = None;
        fleet.lxc.lxc_configs.get_mut(&gw).unwrap().gateway = Some(own);
        assert_eq!(
            messages(&fleet),
            vec![
                "phoenix_lxc_configs.json: gateway upstream port 80 at /lxc_configs/101/gateway/upstream_port: container 101 is the gateway and NGINX listens on that port; the route would proxy to itself",
                "phoenix_lxc_configs.json: tls at /lxc_configs/102/gateway/tls: the gateway has no certificate; set gateway.tls in phoenix_hypervisor_config.json",
            ]
        );
    }

    #[test]
    fn routes_without_a_gateway_container_are_warnings() {
        let mut fleet = example();
        fleet.hypervisor.gateway = None;
        let d = validate_fleet(&fleet);
        assert!(d.iter().all(|d| !d.is_error()), "{d:?}");
        assert_eq!(
            d.iter().map(|d| d.message.as_str()).collect::<Vec<_>>(),
            vec![
                "gateway at /lxc_configs/102/gateway: phoenix_hypervisor_config.json names no gateway container (gateway.ctid), so nothing serves this route",
                "gateway at /lxc_configs/950/gateway: phoenix_hypervisor_config.json names no gateway container (gateway.ctid), so nothing serves this route",
            ]
        );
    }
}
