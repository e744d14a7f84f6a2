//! pct's argv, parsed as Proxmox's CLIHandler does with Getopt::Long: `--opt v`, `-opt v`,
//! `--opt=v`, booleans alone meaning 1, options anywhere among the positionals, and
//! everything after `--` kept for `exec`.

use crate::error::{Failure, Result};

/// How an option takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptKind {
    /// A boolean: alone means 1, or takes a following 0/1/yes/no/on/off/true/false.
    Bool,
    /// Takes the next argument (or `=value`).
    Value,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// Positional arguments in order.
    pub pos: Vec<String>,
    /// Options in order, booleans normalised to `1`/`0`.
    pub opts: Vec<(String, String)>,
    /// Arguments after `--`.
    pub extra: Vec<String>,
}

impl Parsed {
    /// The last value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean option: given and 1.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name) == Some("1")
    }
}

/// Normalises Proxmox's boolean literals to `1`/`0`.
pub fn parse_bool(v: &str) -> Option<&'static str> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some("1"),
        "0" | "off" | "no" | "false" => Some("0"),
        _ => None,
    }
}

fn getopt(msg: String) -> Failure {
    Failure::Usage(format!("{msg}\n400 unable to parse option"))
}

/// Parses `args` (after the subcommand) with `kind` saying which options exist.
/// `keep_extra` keeps the arguments after `--` (exec) instead of treating them as
/// positionals.
pub fn parse(
    args: &[String],
    kind: &dyn Fn(&str) -> Option<OptKind>,
    keep_extra: bool,
) -> Result<Parsed> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            let rest = args[i..].to_vec();
            if keep_extra {
                out.extra = rest;
            } else {
                out.pos.extend(rest);
            }
            break;
        }
        let Some(body) = a
            .strip_prefix("--")
            .or_else(|| a.strip_prefix('-'))
            .filter(|b| !b.is_empty() && a != "-")
        else {
            out.pos.push(a.clone());
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (body, None),
        };
        match kind(name) {
            None => return Err(getopt(format!("Unknown option: {name}"))),
            Some(OptKind::Bool) => {
                let v = match inline {
                    Some(v) => parse_bool(&v).ok_or_else(|| {
                        Failure::param(name, format!("type check ('boolean') failed - got '{v}'"))
                    })?,
                    None => match args.get(i).and_then(|n| parse_bool(n)) {
                        Some(v) => {
                            i += 1;
                            v
                        }
                        None => "1",
                    },
                };
                out.opts.push((name.to_owned(), v.to_owned()));
            }
            Some(OptKind::Value) => {
                let v = match inline {
                    Some(v) => v,
                    None => {
                        let v = args
                            .get(i)
                            .cloned()
                            .ok_or_else(|| getopt(format!("Option {name} requires an argument")))?;
                        i += 1;
                        v
                    }
                };
                out.opts.push((name.to_owned(), v));
            }
        }
    }
    Ok(out)
}

/// Checks the positional count against `names`, as CLIHandler does.
pub fn positionals(p: &Parsed, names: &[&str]) -> Result<()> {
    if p.pos.len() < names.len() {
        return Err(Failure::Usage("400 not enough arguments".into()));
    }
    if p.pos.len() > names.len() {
        return Err(Failure::Usage("400 too many arguments".into()));
    }
    Ok(())
}

/// Parses a VMID positional as Proxmox's `pve-vmid` format does.
pub fn vmid(s: &str, param: &str) -> Result<u32> {
    s.parse::<phoenix_pveconf::Vmid>()
        .map(|v| v.get())
        .map_err(|_| {
            Failure::param(
                param,
                "invalid format - value does not look like a valid VM ID",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(name: &str) -> Option<OptKind> {
        match name {
            "start" | "purge" => Some(OptKind::Bool),
            "memory" | "storage" => Some(OptKind::Value),
            _ => None,
        }
    }

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_anywhere_in_all_spellings() {
        let p = parse(
            &a(&[
                "100",
                "-memory",
                "256",
                "tmpl",
                "--storage=local-zfs",
                "--start",
            ]),
            &k,
            false,
        )
        .unwrap();
        assert_eq!(p.pos, ["100", "tmpl"]);
        assert_eq!(p.get("memory"), Some("256"));
        assert_eq!(p.get("storage"), Some("local-zfs"));
        assert!(p.flag("start"));
        let p = parse(&a(&["--start", "no", "100"]), &k, false).unwrap();
        assert_eq!(
            (p.get("start"), p.pos.as_slice()),
            (Some("0"), &["100".to_string()][..])
        );
    }

    #[test]
    fn double_dash_keeps_the_command_for_exec() {
        let p = parse(&a(&["100", "--", "id", "-u"]), &k, true).unwrap();
        assert_eq!(
            (p.pos.as_slice(), p.extra.as_slice()),
            (&["100".to_string()][..], &a(&["id", "-u"])[..])
        );
    }

    #[test]
    fn getopt_messages() {
        let e = parse(&a(&["100", "--unprivileged", "1"]), &k, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unknown option: unprivileged\n400 unable to parse option"
        );
        let e = parse(&a(&["100", "--memory"]), &k, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Option memory requires an argument\n400 unable to parse option"
        );
        let e = parse(&a(&["--purge=maybe"]), &k, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "400 Parameter verification failed.\npurge: type check ('boolean') failed - got 'maybe'"
        );
    }

    #[test]
    fn counts_and_vmids() {
        let p = parse(&a(&["100"]), &k, false).unwrap();
        assert_eq!(
            positionals(&p, &["vmid", "newid"]).unwrap_err().to_string(),
            "400 not enough arguments"
        );
        assert_eq!(
            positionals(&p, &[]).unwrap_err().to_string(),
            "400 too many arguments"
        );
        assert_eq!(vmid("100", "vmid").unwrap(), 100);
        assert_eq!(
            vmid("99", "vmid").unwrap_err().to_string(),
            "400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID"
        );
    }
}
