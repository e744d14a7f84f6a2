//! Lossless Proxmox CT conf files (`/etc/pve/lxc/<vmid>.conf`).
//!
//! [`CtConf::parse`] keeps every byte: [`CtConf::render`] gives back exactly the input, and
//! the editing methods change only the lines they touch. [`CtConf::render_canonical`] gives
//! what Proxmox itself writes when it next rewrites the file.
//!
//! A `CtConf` dereferences to its main (current) [`Section`]; `[pve:pending]` and snapshot
//! sections are reached with [`CtConf::pending`], [`CtConf::snapshot`] or [`CtConf::section`].

mod canonical;
mod description;
mod digest;
mod edit;
pub mod io;
mod line;
mod lxc_keys;
mod schema;
mod section;
mod typed;
mod warning;

use std::ops::{Deref, DerefMut};

pub use description::{decode_text, encode_text};
pub use digest::{Digest, DigestError};
pub use edit::EditError;
pub use lxc_keys::{LxcKeyFate, lxc_key_fate};
pub use schema::{KeyType, is_dns_name, key_type, parse_bool};
pub use typed::ValueError;
pub use warning::{ConfWarning, WarningKind};

use line::{HeaderKind, LineKind};

/// The name of the pending section as written in its header.
pub const PENDING: &str = "pve:pending";

/// A parsed CT conf: every line of the file, grouped into sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtConf {
    /// `sections[0]` is the main section; the others follow in file order.
    sections: Vec<Section>,
}

/// The result of [`CtConf::parse`]: the conf and what Proxmox would warn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedConf {
    /// The parsed file.
    pub conf: CtConf,
    /// Warnings in line order, with Proxmox's texts.
    pub warnings: Vec<ConfWarning>,
}

/// Which part of the file a section is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionKind {
    /// The lines before the first header: the current configuration.
    Main,
    /// `[pve:pending]`: changes not yet applied, plus `delete:`.
    Pending,
    /// `[name]`: a snapshot.
    Snapshot(String),
}

/// One section: its header line (if any) and the lines up to the next header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    kind: SectionKind,
    lines: Vec<Line>,
}

/// One line, kept byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// The text without its `\n` (a `\r` stays here).
    text: String,
    /// Whether a `\n` followed (false only for the file's last line).
    newline: bool,
    kind: LineKind,
}

impl Line {
    fn key(&self) -> Option<&str> {
        match &self.kind {
            LineKind::Key { key, .. } => Some(&self.text[key.clone()]),
            _ => None,
        }
    }

    fn lxc(&self) -> Option<(&str, &str)> {
        match &self.kind {
            LineKind::Lxc { key, value } => {
                Some((&self.text[key.clone()], &self.text[value.clone()]))
            }
            _ => None,
        }
    }

    fn value(&self) -> Option<&str> {
        match &self.kind {
            LineKind::Key { value, .. }
            | LineKind::Lxc { value, .. }
            | LineKind::Description(value)
            | LineKind::Comment(value) => Some(&self.text[value.clone()]),
            _ => None,
        }
    }
}

impl CtConf {
    /// Parses a conf file. Never fails: like Proxmox, problems become warnings, and lines
    /// Proxmox would drop are kept (so [`render`](Self::render) still returns them).
    ///
    /// ```
    /// use phoenix_pveconf::conf::CtConf;
    ///
    /// let src = "memory: 512\nlxc.idmap = u 0 100000 65536\nBAD LINE\n";
    /// let parsed = CtConf::parse(src);
    /// assert_eq!(parsed.conf.get("memory"), Some("512"));
    /// assert_eq!(parsed.conf.lxc_values("lxc.idmap"), ["u 0 100000 65536"]);
    /// assert_eq!(parsed.warnings[0].to_string(), "line 3: unable to parse config: BAD LINE");
    /// assert_eq!(parsed.conf.render(), src);
    /// ```
    pub fn parse(src: &str) -> ParsedConf {
        let mut sections = vec![Section::new(SectionKind::Main)];
        let mut warnings = Vec::new();
        for (index, piece) in src.split_inclusive('\n').enumerate() {
            let (text, newline) = match piece.strip_suffix('\n') {
                Some(text) => (text, true),
                None => (piece, false),
            };
            if let Some(header) = line::header(text) {
                let kind = match header {
                    HeaderKind::Pending => SectionKind::Pending,
                    HeaderKind::Snapshot(name) => SectionKind::Snapshot(name),
                };
                let mut section = Section::new(kind);
                section.lines.push(Line {
                    text: text.to_owned(),
                    newline,
                    kind: LineKind::Header,
                });
                sections.push(section);
                continue;
            }
            let current = sections.last_mut().unwrap_or_else(|| unreachable!());
            let (kind, warning) = line::classify(text, current.kind == SectionKind::Pending);
            if let Some(kind) = warning {
                warnings.push(ConfWarning {
                    line: index + 1,
                    kind,
                });
            }
            current.lines.push(Line {
                text: text.to_owned(),
                newline,
                kind,
            });
        }
        ParsedConf {
            conf: CtConf { sections },
            warnings,
        }
    }

    /// An empty conf (an empty file).
    pub fn new() -> Self {
        CtConf {
            sections: vec![Section::new(SectionKind::Main)],
        }
    }

    /// The file exactly as parsed, with only the edited lines changed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in self.sections.iter().flat_map(|s| &s.lines) {
            out.push_str(&line.text);
            if line.newline {
                out.push('\n');
            }
        }
        out
    }

    /// What Proxmox writes when it rewrites this file (`write_pct_config`): the description
    /// as `#` lines, keys sorted bytewise with booleans and integers normalised, raw `lxc.*`
    /// entries in order as `key: value`, then `[pve:pending]` if it holds anything, then the
    /// snapshots sorted by name. Dropped lines and the top-level `snapstate` are gone.
    pub fn render_canonical(&self) -> String {
        canonical::render(self)
    }

    /// The warnings Proxmox would print for the conf as it is now (after edits).
    pub fn warnings(&self) -> Vec<ConfWarning> {
        CtConf::parse(&self.render()).warnings
    }

    /// The main (current) section.
    pub fn main(&self) -> &Section {
        &self.sections[0]
    }

    /// The main (current) section, for editing.
    pub fn main_mut(&mut self) -> &mut Section {
        &mut self.sections[0]
    }

    /// Every section in file order, the main section first. A name that appears twice
    /// appears twice here; Proxmox uses the last one (see [`section`](Self::section)).
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    fn section_index(&self, kind: &SectionKind) -> Option<usize> {
        self.sections.iter().rposition(|s| &s.kind == kind)
    }

    /// A section by name: `pve:pending` (any case) or a snapshot name. When a name appears
    /// twice, the last one wins, as in Proxmox.
    pub fn section(&self, name: &str) -> Option<&Section> {
        let i = self.section_index(&kind_for(name))?;
        Some(&self.sections[i])
    }

    /// A section by name, for editing.
    pub fn section_mut(&mut self, name: &str) -> Option<&mut Section> {
        let i = self.section_index(&kind_for(name))?;
        Some(&mut self.sections[i])
    }

    /// The `[pve:pending]` section, if the file has one.
    pub fn pending(&self) -> Option<&Section> {
        self.section(PENDING)
    }

    /// The `[pve:pending]` section for editing, added at the end of the file if missing.
    pub fn pending_mut(&mut self) -> &mut Section {
        self.section_or_insert(SectionKind::Pending)
    }

    /// The snapshot sections, in file order (a repeated name only once: the last one).
    pub fn snapshots(&self) -> Vec<&Section> {
        self.sections
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                matches!(s.kind, SectionKind::Snapshot(_))
                    && self.section_index(&s.kind) == Some(*i)
            })
            .map(|(_, s)| s)
            .collect()
    }

    /// One snapshot section by name.
    pub fn snapshot(&self, name: &str) -> Option<&Section> {
        let i = self.section_index(&SectionKind::Snapshot(name.to_owned()))?;
        Some(&self.sections[i])
    }

    /// A snapshot section for editing, added at the end of the file if missing. The name
    /// must be a valid section name (`[a-z][a-z0-9_-]+`, any case).
    pub fn snapshot_mut(&mut self, name: &str) -> Result<&mut Section, EditError> {
        match line::header(&format!("[{name}]")) {
            Some(HeaderKind::Snapshot(_)) => {
                Ok(self.section_or_insert(SectionKind::Snapshot(name.to_owned())))
            }
            _ => Err(EditError::SectionName {
                name: name.to_owned(),
            }),
        }
    }

    /// Removes every section with this name (`pve:pending` or a snapshot), with its lines and
    /// the blank lines before its header. Returns whether one existed.
    pub fn remove_section(&mut self, name: &str) -> bool {
        let kind = kind_for(name);
        let before = self.sections.len();
        let mut i = 1;
        while i < self.sections.len() {
            if self.sections[i].kind == kind {
                self.sections.remove(i);
                // The blank line before a following header came with the removed section;
                // at the end of the file, the blank line before the removed header goes too.
                if i == self.sections.len() {
                    self.sections[i - 1].trim_trailing_blank_lines();
                }
            } else {
                i += 1;
            }
        }
        before != self.sections.len()
    }

    fn section_or_insert(&mut self, kind: SectionKind) -> &mut Section {
        if let Some(i) = self.section_index(&kind) {
            return &mut self.sections[i];
        }
        let header = match &kind {
            SectionKind::Pending => format!("[{PENDING}]"),
            SectionKind::Snapshot(name) => format!("[{name}]"),
            SectionKind::Main => unreachable!("the main section always exists"),
        };
        // Proxmox separates sections with one blank line.
        let many = self.sections.len() > 1;
        let last = self.sections.last_mut().unwrap_or_else(|| unreachable!());
        let has_content = many || !last.lines.is_empty();
        if let Some(line) = last.lines.last_mut() {
            line.newline = true;
        }
        if has_content && last.lines.last().is_some_and(|l| l.kind != LineKind::Blank) {
            last.lines.push(Line {
                text: String::new(),
                newline: true,
                kind: LineKind::Blank,
            });
        }
        let mut section = Section::new(kind);
        section.lines.push(Line {
            text: header,
            newline: true,
            kind: LineKind::Header,
        });
        self.sections.push(section);
        self.sections.last_mut().unwrap_or_else(|| unreachable!())
    }
}

fn kind_for(name: &str) -> SectionKind {
    if name.eq_ignore_ascii_case(PENDING) {
        SectionKind::Pending
    } else {
        SectionKind::Snapshot(name.to_owned())
    }
}

impl Default for CtConf {
    fn default() -> Self {
        CtConf::new()
    }
}

impl Deref for CtConf {
    type Target = Section;

    fn deref(&self) -> &Section {
        self.main()
    }
}

impl DerefMut for CtConf {
    fn deref_mut(&mut self) -> &mut Section {
        self.main_mut()
    }
}

#[cfg(test)]
mod tests;
