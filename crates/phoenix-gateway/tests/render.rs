//! The rendered gateway for the example fleet and its edge cases, as snapshots, and
//! the errors of fleets validation would reject.

use camino::Utf8PathBuf;
use phoenix_config::model::gateway::{FleetGateway, HttpMode};
use phoenix_config::{Ctid, Fleet, Gateway};
use phoenix_gateway::{GatewayError, render, step};

fn example() -> Fleet {
    let dir = Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/example");
    phoenix_config::load_dir(&dir).unwrap().fleet
}

fn id(n: u32) -> Ctid {
    n.to_string().parse().unwrap()
}

fn route(hosts: &[&str], path: Option<&str>, port: u16) -> Gateway {
    Gateway {
        hostnames: hosts.iter().map(|h| h.parse().unwrap()).collect(),
        path_prefix: path.map(|p| p.parse().unwrap()),
        upstream_port: port,
        websocket: false,
        tls: None,
    }
}

fn set_route(fleet: &mut Fleet, ct: u32, g: Option<Gateway>) {
    fleet.lxc.lxc_configs.get_mut(&id(ct)).unwrap().gateway = g;
}

fn gateway(fleet: &mut Fleet) -> &mut FleetGateway {
    fleet.hypervisor.gateway.as_mut().unwrap()
}

#[test]
fn the_example_fleet() {
    let fleet = example();
    let problems = phoenix_config::validate_fleet(&fleet);
    assert!(problems.is_empty(), "{problems:?}");
    let text = render(&fleet).unwrap();
    assert_eq!(render(&fleet).unwrap(), text, "rendering is deterministic");
    insta::assert_snapshot!(text);
}

#[test]
fn without_tls_everything_is_plain_http_on_port_80() {
    let mut fleet = example();
    gateway(&mut fleet).tls = None;
    let text = render(&fleet).unwrap();
    assert!(!text.contains("443"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn serve_mode_proxies_on_port_80_as_on_443() {
    let mut fleet = example();
    gateway(&mut fleet).http = HttpMode::Serve;
    let text = render(&fleet).unwrap();
    assert!(!text.contains("return 301"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_plain_route_beside_tls_routes_of_the_same_host() {
    // 950 serves vllm.phoenix.lan over TLS; 102 serves /acme/ of the same host and
    // /metrics on every host over plain HTTP; port 80 redirects everything else.
    let mut fleet = example();
    let mut acme = route(&["VLLM.phoenix.lan"], Some("/acme/"), 8080);
    acme.tls = Some(false);
    set_route(&mut fleet, 102, Some(acme));
    let mut metrics = route(&[], Some("/metrics"), 9100);
    metrics.tls = Some(false);
    set_route(&mut fleet, 902, Some(metrics));
    let problems = phoenix_config::validate_fleet(&fleet);
    assert!(problems.is_empty(), "{problems:?}");
    insta::assert_snapshot!(render(&fleet).unwrap());
}

#[test]
fn hostnames_with_a_prefix_and_a_root_route_on_the_default_server() {
    let mut fleet = example();
    let mut api = route(&["b.phoenix.lan", "a.phoenix.lan"], Some("/api/"), 8080);
    api.websocket = true;
    set_route(&mut fleet, 102, Some(api));
    set_route(&mut fleet, 950, Some(route(&[], Some("/"), 8000)));
    gateway(&mut fleet).tls = None;
    let problems = phoenix_config::validate_fleet(&fleet);
    assert!(problems.is_empty(), "{problems:?}");
    let text = render(&fleet).unwrap();
    assert_eq!(
        text.matches("return 404").count(),
        2,
        "only the host servers fall back to 404: {text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn a_fleet_exposing_nothing_gets_only_the_default_servers() {
    let mut fleet = example();
    set_route(&mut fleet, 102, None);
    set_route(&mut fleet, 950, None);
    let text = render(&fleet).unwrap();
    assert!(
        !text.contains("upstream") && !text.contains("map "),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn the_step_carries_the_file_and_the_certificate_settings() {
    let s = step(&example()).unwrap();
    assert_eq!(s.ctid, id(101));
    assert_eq!(s.conf, render(&example()).unwrap());
    let env: Vec<String> = s.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        env,
        vec![
            "PHOENIX_GATEWAY_CERT=/etc/nginx/ssl/phoenix.crt",
            "PHOENIX_GATEWAY_KEY=/etc/nginx/ssl/phoenix.key",
            "PHOENIX_GATEWAY_NAMES=vllm.phoenix.lan",
        ]
    );
}

#[test]
fn fleets_validation_rejects_are_errors() {
    let mut f = example();
    f.hypervisor.gateway = None;
    assert_eq!(render(&f), Err(GatewayError::NoGateway));

    let mut f = example();
    gateway(&mut f).ctid = id(105);
    assert_eq!(
        render(&f),
        Err(GatewayError::UnknownGateway { ctid: id(105) })
    );

    let mut f = example();
    set_route(&mut f, 901, Some(route(&[], Some("/app/"), 80)));
    assert_eq!(
        render(&f),
        Err(GatewayError::DuplicateRoute {
            host: "*".into(),
            path: "/app/".into(),
            first: id(102),
            second: id(901),
        })
    );

    let mut f = example();
    set_route(&mut f, 901, Some(route(&["Vllm.Phoenix.Lan"], None, 80)));
    assert_eq!(
        render(&f),
        Err(GatewayError::DuplicateRoute {
            host: "vllm.phoenix.lan".into(),
            path: "/".into(),
            first: id(901),
            second: id(950),
        })
    );

    let mut f = example();
    set_route(&mut f, 102, Some(route(&[], None, 8080)));
    assert_eq!(render(&f), Err(GatewayError::NoRoute { ctid: id(102) }));

    let mut f = example();
    gateway(&mut f).tls = None;
    let mut r = route(&["x.phoenix.lan"], None, 8080);
    r.tls = Some(true);
    set_route(&mut f, 102, Some(r));
    assert_eq!(
        render(&f),
        Err(GatewayError::TlsWithoutCertificate { ctid: id(102) })
    );

    let mut f = example();
    set_route(&mut f, 101, Some(route(&["gw.phoenix.lan"], None, 443)));
    assert_eq!(
        render(&f),
        Err(GatewayError::ProxiesToItself {
            ctid: id(101),
            port: 443
        })
    );
    // Without a certificate NGINX does not listen on 443: a status page there is fine.
    gateway(&mut f).tls = None;
    assert!(render(&f).is_ok());
}
