//! Bringing an uplink up and down on the real host: the steps are computed from what
//! the host has ([`HostNet`]) by pure functions, then run one by one (argv, never a
//! shell string).

use std::io::Write as _;
use std::net::{Ipv4Addr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Mirror, TABLE_PREFIX, UplinkSpec, nft, table_name};

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// An uplink step failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A command failed or could not start.
    #[error("{argv} failed: {stderr}")]
    Command {
        /// The argv, space-joined.
        argv: String,
        /// Its stderr (or why it could not start).
        stderr: String,
    },
    /// A file could not be read or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A mirror host name did not resolve to any IPv4 address.
    #[error("mirror '{0}' does not resolve to an IPv4 address")]
    Unresolved(String),
}

/// What the host has before `up`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostNet {
    /// The bridge exists.
    pub bridge_exists: bool,
    /// The bridge already holds the gateway address.
    pub has_address: bool,
    /// `net.ipv4.ip_forward` is 1.
    pub ip_forward: bool,
}

/// One thing `up` or `down` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Run an argv, with `stdin` fed to it.
    Run {
        /// The argv.
        argv: Vec<String>,
        /// What to write on its stdin.
        stdin: Option<String>,
    },
    /// Write a value to a `/proc/sys` file.
    Sysctl {
        /// The file.
        path: String,
        /// The value.
        value: String,
    },
}

impl Step {
    fn run(argv: &[&str]) -> Self {
        Step::Run {
            argv: argv.iter().map(|a| (*a).to_owned()).collect(),
            stdin: None,
        }
    }

    /// One line for logs and `--dry-run` (a ruleset on stdin is shown after it).
    pub fn describe(&self) -> String {
        match self {
            Step::Run { argv, stdin: None } => argv.join(" "),
            Step::Run {
                argv,
                stdin: Some(s),
            } => format!("{} <<EOF\n{s}EOF", argv.join(" ")),
            Step::Sysctl { path, value } => format!("echo {value} > {path}"),
        }
    }
}

/// The steps that bring `spec` up on a host that has `host`.
pub fn up_steps(spec: &UplinkSpec, host: &HostNet) -> Vec<Step> {
    let b = spec.bridge.as_str();
    let mut steps = vec![];
    if !host.bridge_exists {
        steps.push(Step::run(&[
            "ip", "link", "add", "name", b, "type", "bridge",
        ]));
    }
    if !host.has_address {
        let cidr = format!("{}/{}", spec.gateway, spec.subnet.prefix);
        steps.push(Step::run(&["ip", "addr", "add", &cidr, "dev", b]));
    }
    steps.push(Step::run(&["ip", "link", "set", b, "up"]));
    steps.push(Step::Run {
        argv: vec!["nft".into(), "-f".into(), "-".into()],
        stdin: Some(nft::render(spec)),
    });
    if !host.ip_forward {
        steps.push(Step::Sysctl {
            path: IP_FORWARD.into(),
            value: "1".into(),
        });
    }
    steps
}

/// What one `up` changed, recorded so `down` undoes exactly that.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpState {
    /// `up` created the bridge.
    pub created_bridge: bool,
    /// `up` added this address (`10.0.3.1/24`) to the bridge.
    pub added_address: Option<String>,
}

impl UpState {
    /// `key=value` lines.
    pub fn render(&self) -> String {
        format!(
            "created_bridge={}\nadded_address={}\n",
            u8::from(self.created_bridge),
            self.added_address.as_deref().unwrap_or("")
        )
    }

    /// Reads [`Self::render`]'s text (unknown lines are ignored).
    pub fn parse(text: &str) -> Self {
        let mut s = UpState::default();
        for l in text.lines() {
            match l.split_once('=') {
                Some(("created_bridge", v)) => s.created_bridge = v == "1",
                Some(("added_address", v)) if !v.is_empty() => s.added_address = Some(v.to_owned()),
                _ => {}
            }
        }
        s
    }
}

/// The steps that take the uplink of `bridge` down. `other_tables` are the uplink
/// tables of other bridges still loaded; `ip_forward_was` is the value recorded by the
/// `up` that turned forwarding on, restored only by the last uplink to go.
pub fn down_steps(
    bridge: &str,
    state: &UpState,
    table_loaded: bool,
    other_tables: usize,
    ip_forward_was: Option<&str>,
) -> Vec<Step> {
    let mut steps = vec![];
    if table_loaded {
        steps.push(Step::run(&[
            "nft",
            "delete",
            "table",
            "inet",
            &table_name(bridge),
        ]));
    }
    if let Some(a) = &state.added_address {
        steps.push(Step::run(&["ip", "addr", "del", a, "dev", bridge]));
    }
    if state.created_bridge {
        steps.push(Step::run(&["ip", "link", "del", bridge]));
    }
    if other_tables == 0
        && let Some(v) = ip_forward_was
    {
        steps.push(Step::Sysctl {
            path: IP_FORWARD.into(),
            value: v.trim().to_owned(),
        });
    }
    steps
}

fn output(argv: &[String], stdin: Option<&str>) -> Result<String, NetError> {
    let fail = |stderr: String| NetError::Command {
        argv: argv.join(" "),
        stderr,
    };
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(format!(
            "({}) {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs one step.
pub fn run_step(step: &Step) -> Result<(), NetError> {
    match step {
        Step::Run { argv, stdin } => output(argv, stdin.as_deref()).map(|_| ()),
        Step::Sysctl { path, value } => {
            std::fs::write(path, format!("{value}\n")).map_err(|source| NetError::Io {
                path: path.into(),
                source,
            })
        }
    }
}

/// Resolves each mirror host to its IPv4 addresses now (the rules hold addresses).
pub fn resolve_mirrors(hosts: &[String]) -> Result<Vec<Mirror>, NetError> {
    let mut out = vec![];
    for h in hosts {
        let mut addrs: Vec<Ipv4Addr> = (h.as_str(), 80)
            .to_socket_addrs()
            .map_err(|_| NetError::Unresolved(h.clone()))?
            .filter_map(|a| match a.ip() {
                std::net::IpAddr::V4(v4) => Some(v4),
                std::net::IpAddr::V6(_) => None,
            })
            .collect();
        addrs.sort();
        addrs.dedup();
        if addrs.is_empty() {
            return Err(NetError::Unresolved(h.clone()));
        }
        out.push(Mirror {
            host: h.clone(),
            addrs,
        });
    }
    Ok(out)
}

/// The uplink tables loaded now (`nft list tables`).
pub fn loaded_tables() -> Result<Vec<String>, NetError> {
    let text = output(&["nft".into(), "list".into(), "tables".into()], None)?;
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("table inet "))
        .filter(|t| t.starts_with(TABLE_PREFIX))
        .map(str::to_owned)
        .collect())
}

/// What the host has for `spec` now.
pub fn probe(spec: &UplinkSpec) -> Result<HostNet, NetError> {
    let bridge_exists = crate::net::exists(&spec.bridge);
    let cidr = format!("inet {}/{} ", spec.gateway, spec.subnet.prefix);
    let has_address = bridge_exists
        && output(
            &[
                "ip".into(),
                "-4".into(),
                "-o".into(),
                "addr".into(),
                "show".into(),
                "dev".into(),
                spec.bridge.clone(),
            ],
            None,
        )?
        .contains(&cidr);
    let ip_forward = std::fs::read_to_string(IP_FORWARD).is_ok_and(|v| v.trim() == "1");
    Ok(HostNet {
        bridge_exists,
        has_address,
        ip_forward,
    })
}

fn state_file(dir: &Path, bridge: &str) -> PathBuf {
    dir.join(format!("{bridge}.state"))
}

fn write(path: &Path, text: &str) -> Result<(), NetError> {
    crate::root::write_atomic(path, text.as_bytes()).map_err(|source| NetError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Brings `spec` up, recording in `state_dir` what it changed. Running it again
/// replaces the rules and changes nothing else.
pub fn up(spec: &UplinkSpec, state_dir: &Path) -> Result<Vec<Step>, NetError> {
    let host = probe(spec)?;
    let steps = up_steps(spec, &host);
    let file = state_file(state_dir, &spec.bridge);
    let mut state = std::fs::read_to_string(&file)
        .map(|t| UpState::parse(&t))
        .unwrap_or_default();
    state.created_bridge |= !host.bridge_exists;
    if !host.has_address {
        state.added_address = Some(format!("{}/{}", spec.gateway, spec.subnet.prefix));
    }
    let orig = state_dir.join("ip_forward.orig");
    if !host.ip_forward && !orig.exists() {
        write(&orig, "0\n")?;
    }
    // The record comes first, so a failure halfway is still undone by `down`.
    write(&file, &state.render())?;
    for s in &steps {
        run_step(s)?;
    }
    Ok(steps)
}

/// Takes the uplink of `bridge` down: its table, and what its `up` created.
pub fn down(bridge: &str, state_dir: &Path) -> Result<Vec<Step>, NetError> {
    let file = state_file(state_dir, bridge);
    let state = std::fs::read_to_string(&file)
        .map(|t| UpState::parse(&t))
        .unwrap_or_default();
    let tables = loaded_tables()?;
    let own = table_name(bridge);
    let others = tables.iter().filter(|t| **t != own).count();
    let orig_path = state_dir.join("ip_forward.orig");
    let orig = std::fs::read_to_string(&orig_path).ok();
    let steps = down_steps(
        bridge,
        &UpState {
            created_bridge: state.created_bridge && crate::net::exists(bridge),
            added_address: state
                .added_address
                .filter(|_| crate::net::exists(bridge) && !state.created_bridge),
        },
        tables.contains(&own),
        others,
        orig.as_deref(),
    );
    for s in &steps {
        run_step(s)?;
    }
    let _ = std::fs::remove_file(&file);
    if others == 0 {
        let _ = std::fs::remove_file(&orig_path);
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> UplinkSpec {
        UplinkSpec::new(
            "phxup0",
            "10.213.50.0/24".parse().unwrap(),
            vec!["10.255.255.53".parse().unwrap()],
            vec![],
        )
    }

    fn lines(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| s.describe().lines().next().unwrap_or("").to_owned())
            .collect()
    }

    #[test]
    fn up_on_a_bare_host_creates_everything() {
        assert_eq!(
            lines(&up_steps(&spec(), &HostNet::default())),
            [
                "ip link add name phxup0 type bridge",
                "ip addr add 10.213.50.1/24 dev phxup0",
                "ip link set phxup0 up",
                "nft -f - <<EOF",
                "echo 1 > /proc/sys/net/ipv4/ip_forward",
            ]
        );
    }

    #[test]
    fn up_again_only_reloads_the_rules() {
        let host = HostNet {
            bridge_exists: true,
            has_address: true,
            ip_forward: true,
        };
        assert_eq!(
            lines(&up_steps(&spec(), &host)),
            ["ip link set phxup0 up", "nft -f - <<EOF"]
        );
    }

    #[test]
    fn down_undoes_what_up_did_and_the_last_restores_forwarding() {
        let state = UpState::parse(
            &UpState {
                created_bridge: true,
                added_address: None,
            }
            .render(),
        );
        assert_eq!(
            lines(&down_steps("phxup0", &state, true, 0, Some("0\n"))),
            [
                "nft delete table inet phoenix_uplink_phxup0",
                "ip link del phxup0",
                "echo 0 > /proc/sys/net/ipv4/ip_forward",
            ]
        );
        let kept = UpState {
            created_bridge: false,
            added_address: Some("10.213.50.1/24".into()),
        };
        assert_eq!(
            lines(&down_steps("vmbr0", &kept, false, 1, Some("0"))),
            ["ip addr del 10.213.50.1/24 dev vmbr0"]
        );
    }

    #[test]
    fn errors_display() {
        let e = NetError::Command {
            argv: "nft -f -".into(),
            stderr: "syntax error".into(),
        };
        assert_eq!(e.to_string(), "nft -f - failed: syntax error");
        assert_eq!(
            NetError::Unresolved("m.example".into()).to_string(),
            "mirror 'm.example' does not resolve to an IPv4 address"
        );
        let e = NetError::Io {
            path: "/p".into(),
            source: std::io::Error::other("ro"),
        };
        assert_eq!(e.to_string(), "cannot write /p: ro");
    }
}
