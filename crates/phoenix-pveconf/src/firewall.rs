//! Proxmox guest firewall files, `/etc/pve/firewall/<vmid>.fw`: a lossless parser
//! and renderer, and the rendering of desired rules.
//!
//! ```text
//! [OPTIONS]                                   <- `key: value` lines
//!
//! enable: 1
//! policy_in: DROP
//!
//! [ALIASES]                                   <- `name cidr [# comment]`
//!
//! traefik 10.0.0.12 # the internal proxy
//!
//! [IPSET management] # hosts allowed in      <- `[!]cidr [# comment]`
//!
//! 10.0.0.0/24
//!
//! [RULES]                                     <- `[|]IN|OUT|GROUP action [options] [# comment]`
//!
//! IN ACCEPT -source 10.0.0.12 -p tcp -dport 80,443 -log nolog # from Traefik
//! |OUT SSH(ACCEPT) -dest 10.0.0.10            <- `|` disables a rule; `SSH(...)` is a macro
//! ```
//!
//! Options of a rule are `-i`, `-source`, `-dest`, `-p`, `-dport`, `-sport`,
//! `-icmp-type` and `-log`; Proxmox writes them in that order ([`FwRule::render`]).
//! [`FwFile::parse`] keeps every line's text, so [`FwFile::render`] gives the file
//! back byte for byte; [`FwFile::with_rules`] replaces the `[RULES]` section and
//! keeps everything else.
//!
//! ```
//! use phoenix_pveconf::firewall::{FwFile, FwRule, render_rules};
//! let src = "[OPTIONS]\n\nenable: 1\n\n[RULES]\n\nIN ACCEPT -p tcp -dport 80,443 # web\n";
//! let file = FwFile::parse(src).unwrap();
//! assert_eq!(file.render(), src);
//! let rules = file.rules();
//! assert_eq!(rules[0].dport.as_deref(), Some("80,443"));
//! assert_eq!(rules[0].comment.as_deref(), Some("web"));
//! assert_eq!(render_rules(&rules), "[RULES]\n\nIN ACCEPT -p tcp -dport 80,443 # web\n");
//! ```

mod rule;

pub use rule::{Direction, FwRule};

/// Why a firewall file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// A `[...]` header naming no section Proxmox knows.
    #[error("unknown section {0}")]
    UnknownSection(String),
    /// A rule line that does not start with a direction and an action.
    #[error("invalid rule \"{0}\": expected IN, OUT, FORWARD or GROUP and an action")]
    InvalidRule(String),
    /// A rule option Proxmox does not know, or one without a value.
    #[error("invalid rule option \"{0}\"")]
    InvalidOption(String),
    /// An `[OPTIONS]` line that is not `key: value`.
    #[error("invalid option line \"{0}\": expected 'key: value'")]
    InvalidOptionLine(String),
    /// A line before the first section header that is not blank or a comment.
    #[error("\"{0}\" is outside any section")]
    OutsideSection(String),
}

/// A section of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionKind {
    /// `[OPTIONS]`.
    Options,
    /// `[RULES]`.
    Rules,
    /// `[ALIASES]`.
    Aliases,
    /// `[IPSET name]`.
    Ipset(String),
    /// `[group name]` (cluster.fw only).
    Group(String),
}

impl SectionKind {
    fn parse(header: &str) -> Option<Self> {
        let inner = header.trim().strip_prefix('[')?.split_once(']')?.0.trim();
        let (word, name) = match inner.split_once(char::is_whitespace) {
            Some((w, n)) => (w, Some(n.trim().to_owned())),
            None => (inner, None),
        };
        match (word.to_ascii_uppercase().as_str(), name) {
            ("OPTIONS", None) => Some(SectionKind::Options),
            ("RULES", None) => Some(SectionKind::Rules),
            ("ALIASES", None) => Some(SectionKind::Aliases),
            ("IPSET", Some(n)) => Some(SectionKind::Ipset(n)),
            ("GROUP", Some(n)) => Some(SectionKind::Group(n)),
            _ => None,
        }
    }
}

/// One line of a section, with its text as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// An empty or whitespace line.
    Blank(String),
    /// A line starting with `#`.
    Comment(String),
    /// `key: value` in `[OPTIONS]`.
    Option {
        /// The text as read.
        raw: String,
        /// The key.
        key: String,
        /// The value, trimmed.
        value: String,
    },
    /// A rule in `[RULES]` or a group.
    Rule {
        /// The text as read.
        raw: String,
        /// The rule.
        rule: FwRule,
    },
    /// An alias or IP set entry: kept as text.
    Entry(String),
}

impl Line {
    /// The text as read.
    pub fn raw(&self) -> &str {
        match self {
            Line::Blank(s) | Line::Comment(s) | Line::Entry(s) => s,
            Line::Option { raw, .. } | Line::Rule { raw, .. } => raw,
        }
    }
}

/// A section: its header line (as read), what it is, and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The header line as read (`[IPSET management] # hosts`).
    pub header: String,
    /// What the section is.
    pub kind: SectionKind,
    /// The lines after the header, up to the next header.
    pub lines: Vec<Line>,
}

/// A whole `.fw` file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FwFile {
    /// Blank and comment lines before the first section.
    pub preamble: Vec<Line>,
    /// The sections, in file order.
    pub sections: Vec<Section>,
    /// Whether the text ended with a newline.
    pub final_newline: bool,
}

impl FwFile {
    /// Parses a firewall file; every line's text is kept.
    pub fn parse(src: &str) -> Result<Self, ParseError> {
        let mut file = FwFile {
            final_newline: src.ends_with('\n') || src.is_empty(),
            ..FwFile::default()
        };
        for (n, raw) in src.lines().enumerate() {
            let err = |kind| ParseError { line: n + 1, kind };
            let trimmed = raw.trim();
            if trimmed.starts_with('[') {
                let kind = SectionKind::parse(trimmed)
                    .ok_or_else(|| err(ParseErrorKind::UnknownSection(trimmed.to_owned())))?;
                file.sections.push(Section {
                    header: raw.to_owned(),
                    kind,
                    lines: Vec::new(),
                });
                continue;
            }
            let line = if trimmed.is_empty() {
                Line::Blank(raw.to_owned())
            } else if trimmed.starts_with('#') {
                Line::Comment(raw.to_owned())
            } else {
                match file.sections.last().map(|s| &s.kind) {
                    None => return Err(err(ParseErrorKind::OutsideSection(trimmed.to_owned()))),
                    Some(SectionKind::Options) => {
                        let (key, value) = trimmed.split_once(':').ok_or_else(|| {
                            err(ParseErrorKind::InvalidOptionLine(trimmed.to_owned()))
                        })?;
                        Line::Option {
                            raw: raw.to_owned(),
                            key: key.trim().to_owned(),
                            value: value.trim().to_owned(),
                        }
                    }
                    Some(SectionKind::Rules | SectionKind::Group(_)) => Line::Rule {
                        raw: raw.to_owned(),
                        rule: FwRule::parse(raw).map_err(err)?,
                    },
                    Some(SectionKind::Aliases | SectionKind::Ipset(_)) => {
                        Line::Entry(raw.to_owned())
                    }
                }
            };
            match file.sections.last_mut() {
                Some(s) => s.lines.push(line),
                None => file.preamble.push(line),
            }
        }
        Ok(file)
    }

    /// The file's text: exactly what was parsed, plus any section replaced since.
    pub fn render(&self) -> String {
        let mut lines: Vec<&str> = self.preamble.iter().map(Line::raw).collect();
        for s in &self.sections {
            lines.push(&s.header);
            lines.extend(s.lines.iter().map(Line::raw));
        }
        let mut out = lines.join("\n");
        if self.final_newline && !out.is_empty() {
            out.push('\n');
        }
        out
    }

    /// The rules of the `[RULES]` section, in order.
    pub fn rules(&self) -> Vec<FwRule> {
        self.sections
            .iter()
            .filter(|s| s.kind == SectionKind::Rules)
            .flat_map(|s| &s.lines)
            .filter_map(|l| match l {
                Line::Rule { rule, .. } => Some(rule.clone()),
                _ => None,
            })
            .collect()
    }

    /// The value of an `[OPTIONS]` key.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.sections
            .iter()
            .filter(|s| s.kind == SectionKind::Options)
            .flat_map(|s| &s.lines)
            .find_map(|l| match l {
                Line::Option { key: k, value, .. } if k == key => Some(value.as_str()),
                _ => None,
            })
    }

    /// This file with its `[RULES]` section replaced by `rules` (rendered as
    /// [`render_rules`] does); other sections, comments and their order stay. A file
    /// without rules gets the section at the end.
    pub fn with_rules(&self, rules: &[FwRule]) -> FwFile {
        let fresh = FwFile::parse(&render_rules(rules)).expect("rendered rules parse");
        let mut section = fresh.sections.into_iter().next().expect("one section");
        let mut out = self.clone();
        match out
            .sections
            .iter()
            .position(|s| s.kind == SectionKind::Rules)
        {
            Some(i) => {
                // Keep the blank line that separated this section from the next one.
                let next_exists = i + 1 < out.sections.len();
                if next_exists {
                    section.lines.push(Line::Blank(String::new()));
                }
                out.sections[i] = section;
            }
            None => {
                if out
                    .sections
                    .last()
                    .is_some_and(|s| !matches!(s.lines.last(), Some(Line::Blank(_)) | None))
                {
                    out.sections
                        .last_mut()
                        .expect("checked")
                        .lines
                        .push(Line::Blank(String::new()));
                }
                out.sections.push(section);
            }
        }
        out.final_newline = true;
        out
    }
}

/// The `[RULES]` section for `rules`, as Proxmox writes it: the header, a blank
/// line, one line per rule.
pub fn render_rules(rules: &[FwRule]) -> String {
    let mut out = String::from("[RULES]\n\n");
    for r in rules {
        out.push_str(&r.render());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
