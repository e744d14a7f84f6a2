//! The gateway step's script (`phoenix-features/scripts/gateway.sh`) run for real by
//! bash on this machine, as the staging runner runs it (`bash -euo pipefail`, an
//! explicit environment, `lib.sh` beside it), against a temporary NGINX directory
//! (`PHOENIX_NGINX_DIR`): the real `nginx -t` and `openssl`, and fakes on `PATH` for
//! what would touch the host (`systemctl`, `dpkg-query`, `apt-get`), which record
//! their calls. The staged file is this crate's rendering of the example fleet.
//! Also runs `shellcheck` on the script. Needs `nginx`, `openssl` and `shellcheck`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use camino::Utf8PathBuf;
use phoenix_config::model::gateway::GatewayTls;
use phoenix_testkit::{Need, require};

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../phoenix-features/scripts")
}

fn example() -> phoenix_config::Fleet {
    let dir = Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/example");
    phoenix_config::load_dir(&dir).unwrap().fleet
}

const FAKES: &[(&str, &str)] = &[
    // Active unless the test removed `active`; every call is recorded.
    (
        "systemctl",
        "echo \"systemctl $*\" >> \"$FAKE_LOG\"\n\
         if [ \"$1\" = is-active ]; then [ -e \"$FAKE_DIR/active\" ]; exit; fi\n\
         if [ \"$1\" = enable ]; then touch \"$FAKE_DIR/active\"; fi\n",
    ),
    // Every package is installed.
    (
        "dpkg-query",
        "echo \"dpkg-query ${*: -1}\" >> \"$FAKE_LOG\"\nprintf 'install ok installed'\n",
    ),
    ("apt-get", "echo \"apt-get $*\" >> \"$FAKE_LOG\"\nexit 1\n"),
];

/// A gateway container as a directory: the staging directory, NGINX's directory with
/// Debian's default site enabled, and the fakes.
struct Guest {
    dir: tempfile::TempDir,
}

impl Guest {
    fn new() -> Guest {
        let dir = tempfile::tempdir().unwrap();
        let b = Guest { dir };
        for d in [
            "run",
            "bin",
            "nginx/conf.d",
            "nginx/sites-available",
            "nginx/sites-enabled",
        ] {
            std::fs::create_dir_all(b.path(d)).unwrap();
        }
        for (name, body) in FAKES {
            let p = b.path("bin").join(name);
            std::fs::write(&p, format!("#!/bin/bash\n{body}")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(b.path("bin/active"), "").unwrap();
        let d = b.path("nginx");
        let d = d.display();
        std::fs::write(
            b.path("nginx/nginx.conf"),
            format!(
                "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n\
                 \x20   access_log {d}/access.log;\n\
                 \x20   client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n\
                 \x20   fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n\
                 \x20   scgi_temp_path {d}/scgi;\n\
                 \x20   include {d}/conf.d/*.conf;\n    include {d}/sites-enabled/*;\n}}\n"
            ),
        )
        .unwrap();
        // As Debian's nginx package leaves it.
        std::fs::write(
            b.path("nginx/sites-available/default"),
            "server {\n    listen 80 default_server;\n    server_name _;\n    return 404;\n}\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(
            b.path("nginx/sites-available/default"),
            b.path("nginx/sites-enabled/default"),
        )
        .unwrap();
        b
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// The example fleet's gateway with its certificate in this box.
    fn step(&self) -> phoenix_gateway::GatewayStep {
        let mut fleet = example();
        let s = |p: &str| self.path(p).to_str().unwrap().parse().unwrap();
        fleet.hypervisor.gateway.as_mut().unwrap().tls = Some(GatewayTls {
            certificate: s("nginx/ssl/phoenix.crt"),
            key: s("nginx/ssl/phoenix.key"),
        });
        phoenix_gateway::step(&fleet).unwrap()
    }

    /// Stages `conf` and runs the script as the staging runner does; the calls the
    /// fakes saw are in `calls()` afterwards (cleared first).
    fn run(&self, step: &phoenix_gateway::GatewayStep, conf: &str) -> Output {
        let run = self.path("run");
        for f in ["lib.sh", "gateway.sh"] {
            std::fs::copy(scripts().join(f), run.join(f)).unwrap();
        }
        std::fs::write(run.join(phoenix_gateway::STAGED_CONF), conf).unwrap();
        let _ = std::fs::remove_file(self.path("calls"));
        let path = format!(
            "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            self.path("bin").display()
        );
        Command::new("bash")
            .args(["-euo", "pipefail"])
            .arg(run.join("gateway.sh"))
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("LANG", "C.UTF-8")
            .env("PHOENIX_RUN_DIR", &run)
            .env("PHOENIX_NGINX_DIR", self.path("nginx"))
            .env("FAKE_LOG", self.path("calls"))
            .env("FAKE_DIR", self.path("bin"))
            .envs(step.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn said(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}stderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[track_caller]
fn tools() -> bool {
    require(&[Need::Command("nginx"), Need::Command("openssl")])
}

#[test]
fn the_script_is_shellcheck_clean() {
    if !require(&[Need::Command("shellcheck")]) {
        return;
    }
    let dir = scripts();
    let out = Command::new("shellcheck")
        .args(["-x", "-P"])
        .arg(&dir)
        .arg(dir.join("gateway.sh"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
}

#[test]
fn first_run_installs_second_run_changes_nothing() {
    if !tools() {
        return;
    }
    let b = Guest::new();
    let step = b.step();
    let out = b.run(&step, &step.conf);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(b.read("nginx/conf.d/phoenix.conf"), step.conf);
    assert!(
        !b.path("nginx/sites-enabled/default").exists(),
        "default site still enabled"
    );
    let key = std::fs::metadata(b.path("nginx/ssl/phoenix.key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
    let subject = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-subject",
            "-ext",
            "subjectAltName",
            "-in",
        ])
        .arg(b.path("nginx/ssl/phoenix.crt"))
        .output()
        .unwrap();
    let subject = String::from_utf8_lossy(&subject.stdout);
    assert!(
        subject.contains("CN = vllm.phoenix.lan") && subject.contains("DNS:vllm.phoenix.lan"),
        "{subject}"
    );
    assert_eq!(
        b.calls(),
        vec![
            "dpkg-query nginx",
            "dpkg-query openssl",
            "systemctl is-active --quiet nginx",
            "systemctl reload nginx",
        ]
    );
    let cert = b.read("nginx/ssl/phoenix.crt");

    let again = b.run(&step, &step.conf);
    assert!(again.status.success(), "{}", said(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).ends_with("gateway: unchanged\n"),
        "{}",
        said(&again)
    );
    assert_eq!(
        b.read("nginx/ssl/phoenix.crt"),
        cert,
        "a certificate is never replaced"
    );
    assert_eq!(
        b.calls(),
        vec![
            "dpkg-query nginx",
            "dpkg-query openssl",
            "systemctl is-active --quiet nginx"
        ],
        "no reload when nothing changed"
    );

    // A changed fleet: installed and reloaded.
    let changed = step.conf.replace("10.0.0.150:8000", "10.0.0.150:8001");
    let out = b.run(&step, &changed);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(b.read("nginx/conf.d/phoenix.conf"), changed);
    assert_eq!(b.calls().last().unwrap(), "systemctl reload nginx");
}

#[test]
fn a_failing_nginx_t_puts_the_previous_file_back_and_does_not_reload() {
    if !tools() {
        return;
    }
    let b = Guest::new();
    let step = b.step();
    assert!(b.run(&step, &step.conf).status.success());
    let broken = format!("{}\nbogus_directive on;\n", step.conf);
    let out = b.run(&step, &broken);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown directive \"bogus_directive\""),
        "{}",
        said(&out)
    );
    assert!(
        err.contains("gateway: nginx -t failed: the previous configuration is back in place"),
        "{err}"
    );
    assert_eq!(b.read("nginx/conf.d/phoenix.conf"), step.conf);
    assert!(
        !b.calls().iter().any(|c| c.starts_with("systemctl")),
        "{:?}",
        b.calls()
    );
    let leftovers: Vec<_> = std::fs::read_dir(b.path("nginx/conf.d"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec!["phoenix.conf"]);
}

#[test]
fn a_failing_first_install_leaves_the_container_as_it_was() {
    if !tools() {
        return;
    }
    let b = Guest::new();
    let step = b.step();
    let out = b.run(&step, "server { listen 80 default_server; bogus; }\n");
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(!b.path("nginx/conf.d/phoenix.conf").exists());
    assert!(
        Path::new(&b.path("nginx/sites-enabled/default")).is_symlink(),
        "Debian's default site is enabled again"
    );
}

#[test]
fn a_stopped_nginx_is_started_and_half_a_certificate_is_refused() {
    if !tools() {
        return;
    }
    let b = Guest::new();
    let step = b.step();
    assert!(b.run(&step, &step.conf).status.success());
    std::fs::remove_file(b.path("bin/active")).unwrap();
    let out = b.run(&step, &step.conf);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(b.calls().last().unwrap(), "systemctl enable --now nginx");

    std::fs::remove_file(b.path("nginx/ssl/phoenix.key")).unwrap();
    let out = b.run(&step, &step.conf);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must both exist or both be missing"),
        "{}",
        said(&out)
    );
    assert!(
        !b.path("nginx/ssl/phoenix.key").exists(),
        "nothing generated over a half pair"
    );
}
