//! `pct-emulator-net`: the host network the emulator's containers attach to.
//!
//! ```text
//! pct-emulator-net bridge add NAME...    create Linux bridges (no uplink), up
//! pct-emulator-net bridge del NAME...    remove them
//! pct-emulator-net up --bridge B --subnet CIDR [--dns IP]... [--mirror HOST]...
//!                     [--state-dir DIR] [--dry-run]
//! pct-emulator-net down --bridge B [--state-dir DIR]
//! ```
//!
//! `up` gives the bridge the subnet's first address and lets its containers reach only
//! the DNS servers (default: the IPv4 nameservers of `<root>/etc/resolv.conf`) and the
//! Debian mirrors (default: the hosts of `<root>/etc/apt/sources.list(.d)`, resolved now)
//! through its own nftables table; `down` deletes the table and what `up` created.
//! `--root` (env `PHOENIX_ROOT`) is where those host files are read.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use pct_emulator::apt_sources::{host_nameservers, host_sources};
use pct_emulator::root::HostRoot;
use pct_emulator::uplink::host;
use pct_emulator::uplink::{Subnet, UplinkSpec};

const USAGE: &str = "usage: pct-emulator-net bridge add|del NAME...
       pct-emulator-net up --bridge B --subnet CIDR [--dns IP]... [--mirror HOST]... [--state-dir DIR] [--dry-run] [--root DIR]
       pct-emulator-net down --bridge B [--state-dir DIR]";

fn usage(msg: &str) -> ! {
    eprintln!("pct-emulator-net: {msg}\n{USAGE}");
    std::process::exit(2)
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("pct-emulator-net: {msg}");
    std::process::exit(1)
}

#[derive(Default)]
struct Opts {
    bridge: Option<String>,
    subnet: Option<String>,
    dns: Vec<String>,
    mirrors: Vec<String>,
    state_dir: Option<PathBuf>,
    root: Option<PathBuf>,
    dry_run: bool,
}

fn parse(args: &[String]) -> Opts {
    let mut o = Opts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--bridge" => o.bridge = Some(value()),
            "--subnet" => o.subnet = Some(value()),
            "--dns" => o.dns.push(value()),
            "--mirror" => o.mirrors.push(value()),
            "--state-dir" => o.state_dir = Some(PathBuf::from(value())),
            "--root" => o.root = Some(PathBuf::from(value())),
            "--dry-run" => o.dry_run = true,
            other => usage(&format!("unknown argument '{other}'")),
        }
    }
    o
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bridge") => bridge(&args[1..]),
        Some("up") => up(parse(&args[1..])),
        Some("down") => down(parse(&args[1..])),
        Some("-h" | "--help") => println!("{USAGE}"),
        _ => usage("expected bridge, up or down"),
    }
}

fn bridge(args: &[String]) {
    let (op, names) = match args.split_first() {
        Some((op, names)) if !names.is_empty() => (op.as_str(), names),
        _ => usage("bridge needs add or del and at least one name"),
    };
    for n in names {
        let r = match op {
            "add" => pct_emulator::net::ensure_bridge(n),
            "del" => pct_emulator::net::remove_bridge(n),
            _ => usage(&format!("unknown bridge operation '{op}'")),
        };
        if let Err(e) = r {
            fail(e);
        }
    }
}

fn state_dir(o: &Opts) -> PathBuf {
    o.state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("/run/phoenix-uplink"))
}

fn up(o: Opts) {
    let root = o
        .root
        .clone()
        .map(HostRoot::new)
        .unwrap_or_else(HostRoot::from_env);
    let bridge = o
        .bridge
        .clone()
        .unwrap_or_else(|| usage("up needs --bridge"));
    let subnet: Subnet = o
        .subnet
        .as_deref()
        .unwrap_or_else(|| usage("up needs --subnet"))
        .parse()
        .unwrap_or_else(|e| usage(&format!("{e}")));
    let dns_text = if o.dns.is_empty() {
        host_nameservers(&root)
    } else {
        o.dns.clone()
    };
    // IPv4 only: the rules and the containers' addresses are IPv4.
    let dns: Vec<Ipv4Addr> = dns_text.iter().filter_map(|d| d.parse().ok()).collect();
    if dns.is_empty() {
        fail("no IPv4 DNS server (none in --dns or the host's /etc/resolv.conf)");
    }
    let mut hosts = o.mirrors.clone();
    if hosts.is_empty() {
        hosts = host_sources(&root)
            .iter()
            .filter_map(|e| e.host().map(str::to_owned))
            .collect();
        hosts.sort();
        hosts.dedup();
    }
    let mirrors = host::resolve_mirrors(&hosts).unwrap_or_else(|e| fail(e));
    let spec = UplinkSpec::new(&bridge, subnet, dns, mirrors);
    if o.dry_run {
        // What `up` would do on this host now (reads only); a host that cannot be read
        // is shown as one that has nothing yet.
        let have = host::probe(&spec).unwrap_or_default();
        for s in host::up_steps(&spec, &have) {
            println!("{}", s.describe());
        }
        return;
    }
    match host::up(&spec, &state_dir(&o)) {
        Ok(_) => {
            let m: Vec<String> = spec
                .mirrors
                .iter()
                .map(|m| {
                    let a: Vec<String> = m.addrs.iter().map(|a| a.to_string()).collect();
                    format!("{} ({})", m.host, a.join(", "))
                })
                .collect();
            let d: Vec<String> = spec.dns.iter().map(|a| a.to_string()).collect();
            println!(
                "uplink {} up: gateway {}/{}, table inet {}, dns {}, mirrors {}",
                spec.bridge,
                spec.gateway,
                spec.subnet.prefix,
                spec.table(),
                d.join(", "),
                m.join(", ")
            );
        }
        Err(e) => fail(e),
    }
}

fn down(o: Opts) {
    let bridge = o
        .bridge
        .clone()
        .unwrap_or_else(|| usage("down needs --bridge"));
    match host::down(&bridge, &state_dir(&o)) {
        Ok(steps) => {
            for s in steps {
                println!("{}", s.describe());
            }
        }
        Err(e) => fail(e),
    }
}
