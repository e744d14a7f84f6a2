//! The `ssh` stand-in (`pve-emu-ssh`): OpenSSH's command line, host key checking against
//! the emulated cluster's keys, and the remote command run on the right node's root.
//!
//! Contract (CLUSTER-DESIGN.md): options (`-o K=V` or `-o "K V"`, `-p`, `-l`, `-i`, `-F`,
//! `-T`, `-q`, `-x`, and a few other flag letters), then `[user@]host`, then the remote
//! words. It refuses (exit 255) unless `-o StrictHostKeyChecking=yes` and
//! `-o UserKnownHostsFile=F` are given and F holds `host`'s key as
//! `$PVE_EMU_ROOT/ssh/known_hosts` has it. An unknown host is
//! `ssh: Could not resolve hostname`. Like OpenSSH it joins the remote words with spaces
//! for the remote shell; the stand-in splits that string by POSIX shell quoting (`shlex`),
//! takes leading `NAME=value` words as environment assignments, and execs the rest (no
//! shell) with `PHOENIX_ROOT` set to the node's root, so the exit code is the command's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::layout::parse_known_hosts;

/// Exit code of ssh's own failures.
pub const SSH_FAILURE: i32 = 255;

/// Why the stand-in did not run the command (each with ssh's exit code 255, except
/// what the remote shell itself would have refused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshError {
    /// A command line ssh would not take.
    #[error(
        "{0}\nusage: ssh [-46qTtx] [-F configfile] [-i identity_file] [-l login_name] [-o option] [-p port] destination [command [argument ...]]"
    )]
    Usage(String),
    /// A `-F` file that cannot be read.
    #[error("Can't open user config file {0}: No such file or directory")]
    ConfigFile(String),
    /// The host is not a node of the cluster.
    #[error("ssh: Could not resolve hostname {0}: Name or service not known")]
    Resolve(String),
    /// Strict host key checking or the known hosts file was not asked for.
    #[error("pve-emu-ssh: refusing to connect to {host} without -o {option}")]
    Insecure {
        /// The host.
        host: String,
        /// The option that must be given (`StrictHostKeyChecking=yes`, ...).
        option: &'static str,
    },
    /// The known hosts file has no key for the host.
    #[error(
        "No ED25519 host key is known for {0} and you have requested strict checking.\nHost key verification failed."
    )]
    UnknownKey(String),
    /// The known hosts file has another key for the host.
    #[error(
        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\nIT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\nHost key for {0} has changed and you have requested strict checking.\nHost key verification failed."
    )]
    ChangedKey(String),
    /// The emulator's files are missing or broken.
    #[error("pve-emu-ssh: {0}")]
    Setup(String),
    /// No remote command (an interactive session is not emulated).
    #[error("pve-emu-ssh: no remote command given (interactive sessions are not emulated)")]
    NoCommand,
    /// The remote shell could not parse the command (exit 2, as `sh` does).
    #[error("sh: 1: Syntax error: Unterminated quoted string")]
    Quoting,
}

impl SshError {
    /// The exit code ssh (or the remote shell) would give.
    pub fn exit_code(&self) -> i32 {
        match self {
            SshError::Quoting => 2,
            _ => SSH_FAILURE,
        }
    }
}

/// A parsed ssh command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation {
    /// `-o` options in order (keys as written).
    pub options: Vec<(String, String)>,
    /// `-l` or `user@`.
    pub user: Option<String>,
    /// `-p`.
    pub port: Option<String>,
    /// `-F`.
    pub config_file: Option<String>,
    /// The destination host.
    pub host: String,
    /// The remote words.
    pub command: Vec<String>,
}

impl Invocation {
    /// The first value of option `key` (case-insensitive, as ssh's are; the first wins).
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The remote command string the remote shell gets: the words joined by spaces.
    pub fn remote_line(&self) -> String {
        self.command.join(" ")
    }
}

const WITH_ARG: &[char] = &['o', 'p', 'l', 'i', 'F', 'b', 'c', 'E', 'J', 'm'];
const FLAGS: &[char] = &['T', 'q', 'x', 'n', 't', 'N', '4', '6', 'v', 'C', 'a', 'k'];

/// Parses OpenSSH's argv (without the program name). Options may also follow the host,
/// until the first word that is not one (`--` ends them).
pub fn parse_args(argv: &[String]) -> Result<Invocation, SshError> {
    let mut inv = Invocation::default();
    let mut host: Option<String> = None;
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        i += 1;
        if a == "--" {
            if host.is_none() {
                let Some(h) = argv.get(i) else { break };
                host = Some(h.clone());
                i += 1;
            }
            inv.command.extend(argv[i..].iter().cloned());
            break;
        }
        let Some(letters) = a.strip_prefix('-').filter(|l| !l.is_empty()) else {
            if host.is_none() {
                host = Some(a.clone());
                continue;
            }
            inv.command.extend(argv[i - 1..].iter().cloned());
            break;
        };
        let chars: Vec<char> = letters.chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            j += 1;
            if FLAGS.contains(&c) {
                continue;
            }
            if !WITH_ARG.contains(&c) {
                return Err(SshError::Usage(format!("unknown option -- {c}")));
            }
            let value: String = if j < chars.len() {
                let v = chars[j..].iter().collect();
                j = chars.len();
                v
            } else {
                let v = argv.get(i).cloned().ok_or_else(|| {
                    SshError::Usage(format!("option requires an argument -- {c}"))
                })?;
                i += 1;
                v
            };
            match c {
                'o' => {
                    let (k, v) = value
                        .split_once('=')
                        .or_else(|| value.split_once(char::is_whitespace))
                        .ok_or_else(|| {
                            SshError::Usage(format!(
                                "command-line line 0: missing argument for option '{value}'"
                            ))
                        })?;
                    inv.options.push((k.trim().to_owned(), v.trim().to_owned()));
                }
                'p' => inv.port = Some(value),
                'l' => inv.user = Some(value),
                'F' => inv.config_file = Some(value),
                _ => {}
            }
        }
    }
    let host = host.ok_or_else(|| SshError::Usage("no destination given".into()))?;
    match host.rsplit_once('@') {
        Some((user, h)) => {
            inv.user.get_or_insert_with(|| user.to_owned());
            inv.host = h.to_owned();
        }
        None => inv.host = host,
    }
    Ok(inv)
}

/// The node root of `inv.host`: checks the host is a node (`nodes_json`: R/ssh/nodes.json),
/// that strict checking and a known hosts file were asked for, and that the file's key
/// (`read` reads it) equals the cluster's (`cluster_known_hosts`: R/ssh/known_hosts).
pub fn resolve(
    inv: &Invocation,
    nodes_json: &str,
    cluster_known_hosts: &str,
    read: impl Fn(&str) -> Option<String>,
) -> Result<PathBuf, SshError> {
    if let Some(f) = inv.config_file.as_ref().filter(|f| read(f).is_none()) {
        return Err(SshError::ConfigFile(f.clone()));
    }
    let nodes: BTreeMap<String, serde_json::Value> = serde_json::from_str(nodes_json)
        .map_err(|e| SshError::Setup(format!("nodes.json: {e}")))?;
    let root = nodes
        .get(&inv.host)
        .and_then(|n| n["root"].as_str())
        .ok_or_else(|| SshError::Resolve(inv.host.clone()))?;
    if !inv
        .option("StrictHostKeyChecking")
        .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
    {
        return Err(SshError::Insecure {
            host: inv.host.clone(),
            option: "StrictHostKeyChecking=yes",
        });
    }
    let Some(file) = inv.option("UserKnownHostsFile") else {
        return Err(SshError::Insecure {
            host: inv.host.clone(),
            option: "UserKnownHostsFile=FILE",
        });
    };
    let expected = parse_known_hosts(cluster_known_hosts)
        .remove(&inv.host)
        .ok_or_else(|| SshError::Setup(format!("no host key for {} in known_hosts", inv.host)))?;
    // ssh takes several files separated by spaces; the first one holding the host decides.
    let names = [
        inv.host.clone(),
        format!("[{}]:{}", inv.host, inv.port.as_deref().unwrap_or("22")),
    ];
    for f in file.split_whitespace() {
        let Some(text) = read(f) else { continue };
        let known = parse_known_hosts(&text);
        if let Some(key) = names.iter().find_map(|n| known.get(n)) {
            if *key == expected {
                return Ok(PathBuf::from(root));
            }
            return Err(SshError::ChangedKey(inv.host.clone()));
        }
    }
    Err(SshError::UnknownKey(inv.host.clone()))
}

/// Environment assignments and the argv of a remote command.
pub type RemoteCommand = (Vec<(String, String)>, Vec<String>);

/// The remote line split as `sh` would: leading `NAME=value` assignments, then the argv.
pub fn remote_argv(line: &str) -> Result<RemoteCommand, SshError> {
    let words = shlex::split(line).ok_or(SshError::Quoting)?;
    let mut env = Vec::new();
    let mut rest = words.into_iter().peekable();
    while let Some(w) = rest.peek() {
        let Some((name, value)) = w.split_once('=') else {
            break;
        };
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            break;
        }
        env.push((name.to_owned(), value.to_owned()));
        rest.next();
    }
    let argv: Vec<String> = rest.collect();
    if argv.is_empty() {
        return Err(SshError::NoCommand);
    }
    Ok((env, argv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    const NODES: &str = r#"{"pve1": {"root": "/r/node/pve1"}}"#;
    const KEYS: &str = "pve1 ssh-ed25519 AAAAkey1\n";

    #[test]
    fn parses_openssh_argv() {
        let inv = parse_args(&args(&[
            "-T",
            "-o",
            "StrictHostKeyChecking=yes",
            "-oUserKnownHostsFile=/k",
            "-l",
            "root",
            "-p22",
            "pve1",
            "printf",
            "%s",
            "'a b'",
        ]))
        .unwrap();
        assert_eq!(inv.host, "pve1");
        assert_eq!(inv.user.as_deref(), Some("root"));
        assert_eq!(inv.option("stricthostkeychecking"), Some("yes"));
        assert_eq!(inv.option("UserKnownHostsFile"), Some("/k"));
        assert_eq!(inv.remote_line(), "printf %s 'a b'");
        let inv = parse_args(&args(&["admin@pve1", "-q", "--", "-x"])).unwrap();
        assert_eq!(inv.user.as_deref(), Some("admin"));
        assert_eq!(inv.command, ["-x"]);
        assert!(matches!(
            parse_args(&args(&["-Z", "h"])),
            Err(SshError::Usage(_))
        ));
        assert!(matches!(
            parse_args(&args(&["-o"])),
            Err(SshError::Usage(_))
        ));
    }

    #[test]
    fn takes_the_orchestrator_node_path_argv() {
        // phoenix-orchestrator's node_path: options, `--`, the host, one quoted command word
        let inv = parse_args(&args(&[
            "-T",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "UserKnownHostsFile=/k",
            "-p",
            "22",
            "-l",
            "root",
            "--",
            "pve1",
            "/usr/local/bin/phoenix node 'a b;rm -rf /'",
        ]))
        .unwrap();
        assert_eq!(inv.host, "pve1");
        assert_eq!(inv.port.as_deref(), Some("22"));
        let good = |f: &str| (f == "/k").then(|| KEYS.to_owned());
        assert_eq!(
            resolve(&inv, NODES, KEYS, good).unwrap(),
            PathBuf::from("/r/node/pve1")
        );
        let (env, argv) = remote_argv(&inv.remote_line()).unwrap();
        assert!(env.is_empty());
        assert_eq!(argv, ["/usr/local/bin/phoenix", "node", "a b;rm -rf /"]);
    }

    #[test]
    fn host_keys_are_checked_strictly() {
        let inv = |extra: &[&str]| {
            let mut a = args(extra);
            a.extend(args(&["pve1", "true"]));
            parse_args(&a).unwrap()
        };
        let good = |f: &str| (f == "/k").then(|| "pve1 ssh-ed25519 AAAAkey1\n".to_owned());
        let strict = [
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "UserKnownHostsFile=/k",
        ];
        assert_eq!(
            resolve(&inv(&strict), NODES, KEYS, good).unwrap(),
            PathBuf::from("/r/node/pve1")
        );
        let e = resolve(&inv(&["-o", "UserKnownHostsFile=/k"]), NODES, KEYS, good).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pve-emu-ssh: refusing to connect to pve1 without -o StrictHostKeyChecking=yes"
        );
        let e = resolve(
            &inv(&["-o", "StrictHostKeyChecking=yes"]),
            NODES,
            KEYS,
            good,
        )
        .unwrap_err();
        assert!(matches!(e, SshError::Insecure { .. }));
        let wrong = |_: &str| Some("pve1 ssh-ed25519 AAAAother\n".to_owned());
        let e = resolve(&inv(&strict), NODES, KEYS, wrong).unwrap_err();
        assert!(e.to_string().ends_with("Host key for pve1 has changed and you have requested strict checking.\nHost key verification failed."));
        let none = |_: &str| None;
        let e = resolve(&inv(&strict), NODES, KEYS, none).unwrap_err();
        assert_eq!(e.exit_code(), 255);
        assert!(
            e.to_string()
                .starts_with("No ED25519 host key is known for pve1")
        );
        let mut other = inv(&strict);
        other.host = "pve9".into();
        assert_eq!(
            resolve(&other, NODES, KEYS, good).unwrap_err().to_string(),
            "ssh: Could not resolve hostname pve9: Name or service not known"
        );
    }

    #[test]
    fn remote_words_split_by_shell_quoting() {
        let (env, argv) = remote_argv("A=1 printf %s 'a b' \"c d\"").unwrap();
        assert_eq!(env, [("A".to_owned(), "1".to_owned())]);
        assert_eq!(argv, ["printf", "%s", "a b", "c d"]);
        let e = remote_argv("echo 'x").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(remote_argv("").unwrap_err(), SshError::NoCommand);
    }
}
