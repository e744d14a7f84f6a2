//! One rule line of a firewall file: `[|]IN|OUT|FORWARD|GROUP action [options] [# comment]`.

use std::fmt;

use super::ParseErrorKind;

/// Rule directions (`GROUP` includes a security group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Incoming traffic.
    In,
    /// Outgoing traffic.
    Out,
    /// Forwarded traffic.
    Forward,
    /// A security group; the action is the group's name.
    Group,
}

impl Direction {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "IN" => Some(Direction::In),
            "OUT" => Some(Direction::Out),
            "FORWARD" => Some(Direction::Forward),
            "GROUP" => Some(Direction::Group),
            _ => None,
        }
    }

    /// The keyword, `IN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "IN",
            Direction::Out => "OUT",
            Direction::Forward => "FORWARD",
            Direction::Group => "GROUP",
        }
    }
}

/// One firewall rule, typed. Addresses and ports stay text in Proxmox's syntax
/// (`10.0.0.0/24`, `+ipset`, `alias`; `80,443`, `8000:8010`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FwRule {
    /// `false` for a rule written with a leading `|`.
    pub enabled: bool,
    /// The direction.
    pub direction: Direction,
    /// `ACCEPT`, `DROP`, `REJECT`, a macro like `SSH(ACCEPT)`, or a group name.
    pub action: String,
    /// `-i`: the guest interface (`net0`).
    pub iface: Option<String>,
    /// `-source`.
    pub source: Option<String>,
    /// `-dest`.
    pub dest: Option<String>,
    /// `-p`: protocol.
    pub proto: Option<String>,
    /// `-dport`: destination ports.
    pub dport: Option<String>,
    /// `-sport`: source ports.
    pub sport: Option<String>,
    /// `-icmp-type`.
    pub icmp_type: Option<String>,
    /// `-log`: `nolog`, `info`, ...
    pub log: Option<String>,
    /// The text after `#`.
    pub comment: Option<String>,
}

impl FwRule {
    /// An enabled rule with a direction and an action and nothing else.
    pub fn new(direction: Direction, action: impl Into<String>) -> Self {
        FwRule {
            enabled: true,
            direction,
            action: action.into(),
            iface: None,
            source: None,
            dest: None,
            proto: None,
            dport: None,
            sport: None,
            icmp_type: None,
            log: None,
            comment: None,
        }
    }

    pub(super) fn parse(line: &str) -> Result<Self, ParseErrorKind> {
        let (body, comment) = split_comment(line);
        let body = body.trim();
        let (enabled, body) = match body.strip_prefix('|') {
            Some(rest) => (false, rest.trim_start()),
            None => (true, body),
        };
        let mut words = body.split_whitespace();
        let invalid = || ParseErrorKind::InvalidRule(line.trim().to_owned());
        let direction = words
            .next()
            .and_then(|w| Direction::parse(&w.to_ascii_uppercase()))
            .ok_or_else(invalid)?;
        let action = words.next().ok_or_else(invalid)?;
        let mut rule = FwRule::new(direction, action);
        rule.enabled = enabled;
        rule.comment = comment.map(str::to_owned);
        while let Some(flag) = words.next() {
            let slot = match flag {
                "-i" => &mut rule.iface,
                "-source" => &mut rule.source,
                "-dest" => &mut rule.dest,
                "-p" => &mut rule.proto,
                "-dport" => &mut rule.dport,
                "-sport" => &mut rule.sport,
                "-icmp-type" => &mut rule.icmp_type,
                "-log" => &mut rule.log,
                other => return Err(ParseErrorKind::InvalidOption(other.to_owned())),
            };
            let value = words
                .next()
                .ok_or_else(|| ParseErrorKind::InvalidOption(flag.to_owned()))?;
            *slot = Some(value.to_owned());
        }
        Ok(rule)
    }

    /// The rule line as Proxmox writes it (no trailing newline).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.enabled {
            out.push('|');
        }
        out.push_str(self.direction.as_str());
        out.push(' ');
        out.push_str(&self.action);
        for (flag, value) in [
            ("-i", &self.iface),
            ("-source", &self.source),
            ("-dest", &self.dest),
            ("-p", &self.proto),
            ("-dport", &self.dport),
            ("-sport", &self.sport),
            ("-icmp-type", &self.icmp_type),
            ("-log", &self.log),
        ] {
            if let Some(v) = value {
                out.push_str(&format!(" {flag} {v}"));
            }
        }
        if let Some(c) = self.comment.as_deref().filter(|c| !c.trim().is_empty()) {
            out.push_str(" # ");
            out.push_str(c);
        }
        out
    }
}

impl fmt::Display for FwRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// `body # comment` split at the first `#`; the comment trimmed, `None` when absent.
fn split_comment(line: &str) -> (&str, Option<&str>) {
    match line.split_once('#') {
        Some((body, c)) => (body, Some(c.trim())),
        None => (line, None),
    }
}
