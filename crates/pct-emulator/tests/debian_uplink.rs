//! The Debian 12 template, host bridges and the filtered uplink, against real LXC.
//!
//! Container ids 9500-9599 and bridges `phxup*` belong to this file (docs/conventions.md).
//! The only traffic these tests send leaves for the host's DNS server and the Debian
//! mirror the host's APT uses (apt inside the container); every probe of "blocked"
//! traffic targets an address on this machine: the bridge's own gateway address, or a
//! network namespace the test makes itself.

mod common;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, MKTEMPLATE, NET, need_lxc};
use phoenix_testkit::{Need, require};

const DEBIAN: &str = "local:vztmpl/phoenix-debian-12_amd64.tar.zst";

fn need_debian() -> bool {
    need_lxc() && require(&[Need::Command("mmdebstrap"), Need::Command("nft")])
}

/// Builds (or takes from the cache) the Debian template into the env's root.
fn debian_template(env: &Env) {
    let started = Instant::now();
    let out = Command::new(MKTEMPLATE)
        .args(["--distro", "debian-12", "--root"])
        .arg(env.root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "phoenix-mktemplate --distro debian-12: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "debian-12 template: {} in {:.1} s",
        String::from_utf8_lossy(&out.stderr).trim(),
        started.elapsed().as_secs_f64()
    );
}

fn run(program: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(program).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Waits (at most 90 s) until systemd in the CT says running or degraded.
fn wait_for_systemd(env: &Env, id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (_, out, err) = env.raw(&[
            "exec",
            id,
            "--",
            "timeout",
            "30",
            "systemctl",
            "is-system-running",
            "--wait",
        ]);
        let state = out.trim().to_owned();
        if state == "running" || state == "degraded" {
            return state;
        }
        // Right after lxc-start systemd's bus socket may not exist yet.
        assert!(
            Instant::now() < deadline,
            "systemd in CT {id} did not come up: '{state}' {err}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn debian_template_boots_systemd_in_an_unprivileged_ct() {
    if !need_debian() {
        return;
    }
    let started = Instant::now();
    let env = Env::new(&[9500], &[]);
    debian_template(&env);
    let (code, _, err) = env.raw(&[
        "create",
        "9500",
        DEBIAN,
        "--rootfs",
        "local-zfs:2",
        "--hostname",
        "deb9500",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(env.conf(9500).lines().any(|l| l == "ostype: debian"));
    let (code, _, err) = env.raw(&["start", "9500"]);
    assert_eq!(code, 0, "{err}");
    let state = wait_for_systemd(&env, "9500");
    eprintln!(
        "systemd: {state} after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // PID 1 is systemd, running as the mapped root on the host.
    assert_eq!(
        env.raw(&["exec", "9500", "--", "cat", "/proc/1/comm"]).1,
        "systemd\n"
    );
    assert_eq!(env.init_uid(9500), 100_000);
    assert_eq!(env.raw(&["exec", "9500", "--", "hostname"]).1, "deb9500\n");
    // The template carries apt and the host's Debian mirror.
    let (_, sources, _) = env.raw(&["exec", "9500", "--", "cat", "/etc/apt/sources.list"]);
    assert!(sources.contains("bookworm main"), "{sources}");
    let (code, _, err) = env.raw(&["stop", "9500"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn start_refuses_a_missing_bridge_until_the_host_network_adds_it() {
    if !need_lxc() {
        return;
    }
    let env = Env::new(&[9520], &["phxup2"]);
    let _ = run(NET, &["bridge", "del", "phxup2"]);
    let (code, _, err) = env.raw(&[
        "create",
        "9520",
        common::TEMPLATE,
        "--rootfs",
        "local-zfs:1",
        "--net0",
        "name=eth0,bridge=phxup2,ip=10.213.52.5/24",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = env.raw(&["start", "9520"]);
    assert_eq!(code, 255);
    assert_eq!(out, "bridge 'phxup2' does not exist\n");
    assert_eq!(err, "startup for container '9520' failed\n");
    assert!(!Path::new("/sys/class/net/phxup2").exists());

    let (code, _, err) = run(NET, &["bridge", "add", "phxup2"]);
    assert_eq!(code, 0, "{err}");
    assert!(Path::new("/sys/class/net/phxup2/bridge").exists());
    let (code, _, err) = env.raw(&["start", "9520"]);
    assert_eq!(code, 0, "{err}");
    assert!(Path::new("/sys/class/net/veth9520i0").exists());
    let (code, _, err) = run(NET, &["bridge", "del", "phxup2"]);
    assert_eq!(code, 0, "{err}");
    assert!(!Path::new("/sys/class/net/phxup2").exists());
}

/// Takes the uplink down, then removes the namespace and its veth, whatever happened.
struct UplinkGuard {
    bridge: &'static str,
    state_dir: PathBuf,
    netns: &'static str,
    veth: &'static str,
}

impl Drop for UplinkGuard {
    fn drop(&mut self) {
        let state = self.state_dir.display().to_string();
        let _ = run(
            NET,
            &["down", "--bridge", self.bridge, "--state-dir", &state],
        );
        let _ = run("ip", &["link", "del", self.veth]);
        let _ = run("ip", &["netns", "del", self.netns]);
        let _ = run("ip", &["link", "del", self.bridge]);
    }
}

fn ip_forward() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
        .unwrap()
        .trim()
        .to_owned()
}

/// The packet count of the uplink rule with this comment.
fn counter(table: &str, comment: &str) -> u64 {
    let (_, text, _) = run("nft", &["list", "table", "inet", table]);
    let line = text
        .lines()
        .find(|l| l.contains(comment))
        .unwrap_or_else(|| panic!("no rule '{comment}' in:\n{text}"));
    let after = line.split("counter packets ").nth(1).unwrap();
    after.split_whitespace().next().unwrap().parse().unwrap()
}

/// A TCP connect from inside the CT, without a shell string: bash's /dev/tcp with the
/// address and port as arguments. True when it connected within 5 s.
fn ct_connects(env: &Env, id: &str, addr: &str, port: u16) -> bool {
    let port = port.to_string();
    let (code, _, _) = env.raw(&[
        "exec",
        id,
        "--",
        "timeout",
        "5",
        "bash",
        "-c",
        "exec 3<>\"/dev/tcp/$1/$2\"",
        "probe",
        addr,
        &port,
    ]);
    code == 0
}

/// A listener in a network namespace of our own: a stand-in for "somewhere else" that
/// the container's traffic would reach through the host's forwarding.
fn netns_listener(ns: &str, port: u16) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns, "busybox", "nc", "-l", "-p"])
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn apt_installs_through_the_uplink_and_everything_else_is_dropped() {
    if !need_debian() {
        return;
    }
    let started = Instant::now();
    let env = Env::new(&[9510], &[]);
    let state_dir = env.path("/run/phoenix-uplink");
    let guard = UplinkGuard {
        bridge: "phxup0",
        state_dir: state_dir.clone(),
        netns: "phxupns0",
        veth: "phxupv0",
    };
    let forward_before = ip_forward();
    debian_template(&env);
    let state = state_dir.display().to_string();

    let (code, out, err) = run(
        NET,
        &[
            "up",
            "--bridge",
            "phxup0",
            "--subnet",
            "10.213.50.0/24",
            "--root",
            "/",
            "--state-dir",
            &state,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(ip_forward(), "1");
    let table = "phoenix_uplink_phxup0";
    let (_, rules, _) = run("nft", &["list", "table", "inet", table]);
    let dns: Vec<String> =
        pct_emulator::apt_sources::host_nameservers(&pct_emulator::root::HostRoot::new("/"))
            .into_iter()
            .filter(|d| d.parse::<Ipv4Addr>().is_ok())
            .collect();
    assert!(!dns.is_empty(), "the host has no IPv4 nameserver");
    for d in &dns {
        assert!(rules.contains(d.as_str()), "{d} missing from:\n{rules}");
    }
    assert!(rules.contains("masquerade"), "{rules}");
    assert!(rules.contains("tcp dport { 80, 443 }"), "{rules}");

    let (code, _, err) = env.raw(&[
        "create",
        "9510",
        DEBIAN,
        "--rootfs",
        "local-zfs:2",
        "--memory",
        "1024",
        "--hostname",
        "deb9510",
        "--nameserver",
        &dns[0],
        "--net0",
        "name=eth0,bridge=phxup0,ip=10.213.50.10/24,gw=10.213.50.1",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = env.raw(&["start", "9510"]);
    assert_eq!(code, 0, "{err}");
    wait_for_systemd(&env, "9510");
    assert_eq!(
        env.raw(&["exec", "9510", "--", "cat", "/etc/resolv.conf"])
            .1,
        // Proxmox's setup writes its own marked section (LXC/Setup/Base.pm).
        format!(
            "# --- BEGIN PVE ---\nnameserver {}\n# --- END PVE ---\n",
            dns[0]
        )
    );

    // apt through the uplink: the mirror by name (resolved by the host's DNS server).
    let apt = Instant::now();
    let (code, out, err) = env.raw(&["exec", "9510", "--", "timeout", "300", "apt-get", "update"]);
    assert_eq!(code, 0, "apt-get update:\n{out}{err}");
    let (code, out, err) = env.raw(&[
        "exec",
        "9510",
        "--",
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "timeout",
        "300",
        "apt-get",
        "install",
        "-y",
        "jq",
    ]);
    assert_eq!(code, 0, "apt-get install jq:\n{out}{err}");
    eprintln!(
        "apt-get update + install jq: {:.1} s",
        apt.elapsed().as_secs_f64()
    );
    assert_eq!(
        env.raw(&["exec", "9510", "--", "jq", "-n", "[1,2]|add"]).1,
        "3\n"
    );

    // Blocked 1: the host itself, on its bridge address, on a port that is not allowed.
    let host_listener = TcpListener::bind("10.213.50.1:0").unwrap();
    let host_port = host_listener.local_addr().unwrap().port();
    host_listener.set_nonblocking(true).unwrap();
    let to_host = counter(table, "phoenix-uplink: to the host");
    assert!(!ct_connects(&env, "9510", "10.213.50.1", host_port));
    assert!(
        host_listener.accept().is_err(),
        "the host accepted a connection from the container"
    );
    assert!(counter(table, "phoenix-uplink: to the host") > to_host);
    // ... while the listener itself works (from the host).
    drop(TcpStream::connect(("10.213.50.1", host_port)).unwrap());

    // Blocked 2: an address the host would forward to, a namespace of our own.
    for argv in [
        &["netns", "add", "phxupns0"][..],
        &[
            "link", "add", "phxupv0", "type", "veth", "peer", "name", "phxupv1",
        ],
        &["link", "set", "phxupv1", "netns", "phxupns0"],
        &["addr", "add", "10.213.51.1/30", "dev", "phxupv0"],
        &["link", "set", "phxupv0", "up"],
        &[
            "-n",
            "phxupns0",
            "addr",
            "add",
            "10.213.51.2/30",
            "dev",
            "phxupv1",
        ],
        &["-n", "phxupns0", "link", "set", "phxupv1", "up"],
        &[
            "-n",
            "phxupns0",
            "route",
            "add",
            "default",
            "via",
            "10.213.51.1",
        ],
    ] {
        let (code, _, err) = run("ip", argv);
        assert_eq!(code, 0, "ip {}: {err}", argv.join(" "));
    }
    let mut ns = netns_listener("phxupns0", 8099);
    std::thread::sleep(Duration::from_millis(300));
    let dropped = counter(table, "phoenix-uplink: not dns or mirror");
    assert!(!ct_connects(&env, "9510", "10.213.51.2", 8099));
    assert!(counter(table, "phoenix-uplink: not dns or mirror") > dropped);
    assert!(
        ns.try_wait().unwrap().is_none(),
        "the namespace's listener got a connection from the container"
    );
    // ... while that listener is reachable from the host, so the drop was the rule's.
    drop(TcpStream::connect(("10.213.51.2", 8099)).unwrap());
    let waited = Instant::now();
    while ns.try_wait().unwrap().is_none() && waited.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let reached = ns.try_wait().unwrap().is_some();
    let _ = ns.kill();
    let _ = ns.wait();
    assert!(
        reached,
        "the namespace's listener did not see the host's connection"
    );

    // Down: the table, the bridge `up` created, and ip_forward as it was.
    let (code, _, err) = env.raw(&["stop", "9510"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(NET, &["down", "--bridge", "phxup0", "--state-dir", &state]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!run("nft", &["list", "tables"]).1.contains(table));
    assert!(!Path::new("/sys/class/net/phxup0").exists());
    let others = run("nft", &["list", "tables"])
        .1
        .contains("phoenix_uplink_");
    if !others {
        assert_eq!(ip_forward(), forward_before);
    }
    drop(guard);
    eprintln!("uplink test: {:.1} s", started.elapsed().as_secs_f64());
}
