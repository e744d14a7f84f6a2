//! Reading a [`Section`]: plain keys, raw `lxc.*` entries, the description and `delete:`.

use super::line::{self, LineKind};
use super::{Line, PENDING, Section, SectionKind, decode_text};

impl Section {
    pub(super) fn new(kind: SectionKind) -> Self {
        Section {
            kind,
            lines: Vec::new(),
        }
    }

    /// Which section this is.
    pub fn kind(&self) -> &SectionKind {
        &self.kind
    }

    /// The name in the header (`pve:pending` or the snapshot name); `None` for the main section.
    pub fn name(&self) -> Option<&str> {
        match &self.kind {
            SectionKind::Main => None,
            SectionKind::Pending => Some(PENDING),
            SectionKind::Snapshot(name) => Some(name),
        }
    }

    /// The value of a plain key (`memory`, `net0`, `snapstate`, pending's `delete`, ...).
    /// When a key appears twice the last one wins, as in Proxmox.
    pub fn get(&self, key: &str) -> Option<&str> {
        let line = self.lines.iter().rev().find(|l| l.key() == Some(key))?;
        line.value()
    }

    /// Every plain `key: value` line in file order (duplicates included).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lines
            .iter()
            .filter_map(|l| Some((l.key()?, l.value()?)))
    }

    /// Every raw `lxc.*` entry Proxmox keeps, in file order (either form, values trimmed).
    pub fn lxc(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lines.iter().filter_map(Line::lxc)
    }

    /// The values of one raw `lxc.*` key, in file order.
    pub fn lxc_values(&self, key: &str) -> Vec<&str> {
        self.lxc()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .collect()
    }

    /// The decoded description: every `#` line (decoded, with `\n` appended) and every
    /// `description:` value, in file order. `None` when there is none.
    pub fn description(&self) -> Option<String> {
        let mut text = String::new();
        for line in &self.lines {
            match &line.kind {
                LineKind::Comment(r) => {
                    text.push_str(&decode_text(&line.text[r.clone()]));
                    text.push('\n');
                }
                LineKind::Description(r) => text.push_str(&decode_text(&line.text[r.clone()])),
                _ => {}
            }
        }
        // Perl's `if $descr`: an empty text and the text "0" both count as none.
        (!text.is_empty() && text != "0").then_some(text)
    }

    /// The `[pve:pending]` `delete:` list (`!key` marks a forced delete), in order; empty for
    /// other sections.
    pub fn deletes(&self) -> Vec<&str> {
        match self.kind {
            SectionKind::Pending => self
                .get("delete")
                // pve-common's split_list: commas, semicolons and whitespace all separate.
                .map(|v| {
                    v.split(|c: char| c == ',' || c == ';' || line::is_perl_space(c))
                        .filter(|k| !k.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}
