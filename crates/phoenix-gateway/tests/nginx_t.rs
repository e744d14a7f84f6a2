//! The rendered configuration passes the real `nginx -t` (the NGINX on this machine:
//! 1.22 on Debian 12), included from a minimal `nginx.conf` in a temporary directory
//! that also holds the pid file, the logs, the temp paths and a self-signed
//! certificate made with `openssl req -x509`. Needs `nginx` and `openssl`: skipped
//! with a reason outside CI, a failure with `PHOENIX_REQUIRE_SYSTEM_TESTS=1`.

use std::process::Command;

use camino::Utf8PathBuf;
use phoenix_config::Fleet;
use phoenix_config::model::gateway::{GatewayTls, HttpMode};
use phoenix_testkit::{Need, require};

fn example() -> Fleet {
    let dir = Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/example");
    phoenix_config::load_dir(&dir).unwrap().fleet
}

/// A directory nginx can be tested in: `nginx.conf` includes `conf.d/*.conf`.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        let conf = format!(
            "pid {d}/nginx.pid;\n\
             error_log {d}/error.log;\n\
             events {{}}\n\
             http {{\n\
             \x20   access_log {d}/access.log;\n\
             \x20   client_body_temp_path {d}/body;\n\
             \x20   proxy_temp_path {d}/proxy;\n\
             \x20   fastcgi_temp_path {d}/fastcgi;\n\
             \x20   uwsgi_temp_path {d}/uwsgi;\n\
             \x20   scgi_temp_path {d}/scgi;\n\
             \x20   include {d}/conf.d/*.conf;\n\
             }}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        Sandbox { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    /// A self-signed certificate and key for `fleet`'s gateway, in the sandbox.
    fn certificate(&self, fleet: &mut Fleet) {
        let (crt, key) = (self.path("phoenix.crt"), self.path("phoenix.key"));
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "2",
            ])
            .args([
                "-subj",
                "/CN=vllm.phoenix.lan",
                "-keyout",
                &key,
                "-out",
                &crt,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        fleet.hypervisor.gateway.as_mut().unwrap().tls = Some(GatewayTls {
            certificate: crt.parse().unwrap(),
            key: key.parse().unwrap(),
        });
    }

    /// `nginx -t` on `text` as `conf.d/phoenix.conf`: (passed, nginx's output).
    fn test(&self, text: &str) -> (bool, String) {
        std::fs::write(self.dir.path().join("conf.d/phoenix.conf"), text).unwrap();
        let out = Command::new("nginx")
            .args(["-t", "-c", &self.path("nginx.conf")])
            .args(["-p", &format!("{}/", self.dir.path().display())])
            .args(["-e", &self.path("error.log")])
            .output()
            .unwrap();
        let mut said = String::from_utf8_lossy(&out.stdout).into_owned();
        said.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.success(), said)
    }
}

fn assert_passes(sandbox: &Sandbox, what: &str, text: &str) {
    let (ok, said) = sandbox.test(text);
    assert!(ok, "{what}: nginx -t failed:\n{said}\n{text}");
    assert!(said.contains("test is successful"), "{what}: {said}");
    // A deprecated directive is a warning on 1.22; none is allowed.
    assert!(!said.contains("[warn]"), "{what}: {said}");
}

#[track_caller]
fn nginx_available() -> bool {
    require(&[Need::Command("nginx"), Need::Command("openssl")])
}

#[test]
fn the_example_fleet_with_its_certificate_passes_nginx_t() {
    if !nginx_available() {
        return;
    }
    let sandbox = Sandbox::new();
    let mut fleet = example();
    sandbox.certificate(&mut fleet);
    let text = phoenix_gateway::render(&fleet).unwrap();
    assert!(text.contains("listen 443 ssl default_server;"), "{text}");
    assert_passes(&sandbox, "example, tls", &text);

    let mut serve = fleet.clone();
    serve.hypervisor.gateway.as_mut().unwrap().http = HttpMode::Serve;
    assert_passes(
        &sandbox,
        "example, tls, serve",
        &phoenix_gateway::render(&serve).unwrap(),
    );

    // A plain route on a TLS host, a plain path on the default server, a route with
    // several host names (one upper case) and a root route.
    let mut mixed = fleet.clone();
    let ids = |n: u32| n.to_string().parse().unwrap();
    let g = mixed
        .lxc
        .lxc_configs
        .get_mut(&ids(102))
        .unwrap()
        .gateway
        .as_mut()
        .unwrap();
    g.hostnames = vec![
        "vllm.phoenix.lan".parse().unwrap(),
        "App.phoenix.lan".parse().unwrap(),
    ];
    g.path_prefix = Some("/acme/".parse().unwrap());
    g.tls = Some(false);
    let mut root = g.clone();
    root.hostnames.clear();
    root.path_prefix = Some("/".parse().unwrap());
    root.websocket = false;
    root.tls = None;
    root.upstream_port = 9000;
    mixed.lxc.lxc_configs.get_mut(&ids(902)).unwrap().gateway = Some(root);
    assert!(phoenix_config::validate_fleet(&mixed).is_empty());
    assert_passes(&sandbox, "mixed", &phoenix_gateway::render(&mixed).unwrap());
}

#[test]
fn long_host_names_pass_nginx_t() {
    if !nginx_available() {
        return;
    }
    // NGINX's default server_names_hash_bucket_size (64) fails on two names of 47
    // characters; the renderer sizes the bucket for the longest name.
    let sandbox = Sandbox::new();
    let mut fleet = example();
    fleet.hypervisor.gateway.as_mut().unwrap().tls = None;
    // A name of `n` characters in labels of at most 60 (a label may have 63).
    let long = |c: &str, n: usize| {
        let mut body = String::new();
        while body.len() < n - 4 {
            if !body.is_empty() {
                body.push('.');
            }
            let left = n - 4 - body.len();
            body.push_str(&c.repeat(left.min(60)));
        }
        format!("{body}.lan").parse().unwrap()
    };
    for (id, names) in [
        (102, vec![long("a", 47), long("b", 47)]),
        (950, vec![long("c", 255)]),
    ] {
        let ct = fleet
            .lxc
            .lxc_configs
            .get_mut(&id.to_string().parse().unwrap())
            .unwrap();
        ct.gateway.as_mut().unwrap().hostnames = names;
    }
    let text = phoenix_gateway::render(&fleet).unwrap();
    assert!(
        text.contains("server_names_hash_bucket_size 512;"),
        "{text}"
    );
    assert_passes(&sandbox, "long names", &text);
    let default = text.replace("server_names_hash_bucket_size 512;", "");
    let (ok, said) = sandbox.test(&default);
    assert!(
        !ok && said.contains("server_names_hash_bucket_size"),
        "{said}"
    );
}

#[test]
fn the_example_fleet_without_tls_passes_nginx_t() {
    if !nginx_available() {
        return;
    }
    let sandbox = Sandbox::new();
    let mut fleet = example();
    fleet.hypervisor.gateway.as_mut().unwrap().tls = None;
    let text = phoenix_gateway::render(&fleet).unwrap();
    assert!(!text.contains("ssl"), "{text}");
    assert_passes(&sandbox, "example, plain", &text);
}

#[test]
fn the_sandbox_catches_a_broken_configuration() {
    if !nginx_available() {
        return;
    }
    // The check above can fail: a directive NGINX 1.22 does not know (http2 on; is
    // 1.25.1+), or a certificate that does not exist, fails nginx -t here.
    let sandbox = Sandbox::new();
    let mut fleet = example();
    sandbox.certificate(&mut fleet);
    let text = phoenix_gateway::render(&fleet).unwrap();
    let newer = text.replacen("    ssl_protocols", "    http2 on;\n    ssl_protocols", 1);
    let (ok, said) = sandbox.test(&newer);
    assert!(
        !ok && said.contains("unknown directive \"http2\""),
        "{said}"
    );
    std::fs::remove_file(sandbox.dir.path().join("phoenix.crt")).unwrap();
    let (ok, said) = sandbox.test(&text);
    assert!(!ok && said.contains("phoenix.crt"), "{said}");
}
