//! Editing a [`Section`]: each method changes only the lines it must.

use super::line::{LineKind, classify, is_perl_space};
use super::{Line, Section, SectionKind, description};

/// Why an edit was refused. The conf is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The key does not match `[a-z][a-z_]*\d*`, or is not allowed in this section.
    #[error("invalid key '{key}' - {reason}")]
    Key {
        /// The key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// The value is empty, has surrounding whitespace or holds a line break.
    #[error("invalid value for '{key}' - {reason}")]
    Value {
        /// The key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// A raw `lxc.*` key Proxmox would refuse or drop.
    #[error("raw key '{key}' would be dropped by proxmox - {reason}")]
    LxcKey {
        /// The key.
        key: String,
        /// Proxmox's warning for it.
        reason: String,
    },
    /// A snapshot name Proxmox would not read back as a section.
    #[error("invalid section name '{name}' - names match [a-z][a-z0-9_-]+")]
    SectionName {
        /// The name.
        name: String,
    },
}

/// Keys Proxmox keeps in its parsed hash for itself; writing them as lines would corrupt it.
const RESERVED: &[&str] = &[
    "description",
    "digest",
    "lxc",
    "pending",
    "snapname",
    "snapshots",
];

fn check_value(key: &str, value: &str, allow_empty: bool) -> Result<(), EditError> {
    let err = |reason| {
        Err(EditError::Value {
            key: key.to_owned(),
            reason,
        })
    };
    if value.contains(['\n', '\r']) {
        return err("values cannot hold a line break");
    }
    if value.is_empty() && !allow_empty {
        return err("values cannot be empty");
    }
    if value.trim_matches(is_perl_space) != value {
        return err("values cannot start or end with whitespace");
    }
    Ok(())
}

impl Section {
    fn in_pending(&self) -> bool {
        self.kind == SectionKind::Pending
    }

    /// The index after the last line that is not blank (where new keys go).
    fn content_end(&self) -> usize {
        self.lines
            .iter()
            .rposition(|l| l.kind != LineKind::Blank)
            .map_or(0, |i| i + 1)
    }

    fn insert_line(&mut self, at: usize, text: String, kind: LineKind) {
        let mut newline = true;
        if at > 0 && !self.lines[at - 1].newline {
            // Appending after a last line that had no `\n`: keep the file without a final one.
            self.lines[at - 1].newline = true;
            newline = false;
        }
        self.lines.insert(
            at,
            Line {
                text,
                newline,
                kind,
            },
        );
    }

    /// Removes the blank lines at the end (before the next section's header).
    pub(crate) fn trim_trailing_blank_lines(&mut self) {
        let keep = self
            .content_end()
            .max(usize::from(self.kind != SectionKind::Main));
        self.lines.truncate(keep);
    }

    fn remove_line(&mut self, at: usize) {
        let line = self.lines.remove(at);
        if !line.newline && at > 0 {
            self.lines[at - 1].newline = false;
        }
    }

    fn replace_value(&mut self, at: usize, value: &str) {
        let line = &mut self.lines[at];
        if let LineKind::Key { value: r, .. } | LineKind::Lxc { value: r, .. } = &mut line.kind {
            line.text.replace_range(r.clone(), value);
            r.end = r.start + value.len();
        }
    }

    /// Sets a plain key: the last line holding it gets the new value in place (other lines of
    /// the same key are removed, as Proxmox would ignore them); otherwise a `key: value` line is
    /// appended after the section's last non-blank line. Unknown keys are allowed, as Proxmox
    /// keeps them. `delete` is allowed only in `[pve:pending]`.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), EditError> {
        if RESERVED.contains(&key) || key.starts_with("lxc.") {
            return Err(EditError::Key {
                key: key.to_owned(),
                reason: "use set_description or the lxc methods for this key",
            });
        }
        check_value(key, value, false)?;
        let text = format!("{key}: {value}");
        let kind = match classify(&text, self.in_pending()).0 {
            LineKind::Key { key: k, value } if &text[k.clone()] == key => {
                LineKind::Key { key: k, value }
            }
            _ if key == "delete" => {
                return Err(EditError::Key {
                    key: key.to_owned(),
                    reason: "'delete' is only allowed in [pve:pending]",
                });
            }
            _ => {
                return Err(EditError::Key {
                    key: key.to_owned(),
                    reason: "keys match [a-z][a-z_]*\\d*",
                });
            }
        };
        let found: Vec<usize> = self.positions(|l| l.key() == Some(key));
        match found.split_last() {
            Some((&last, earlier)) => {
                self.replace_value(last, value);
                for &i in earlier.iter().rev() {
                    self.remove_line(i);
                }
            }
            None => self.insert_line(self.content_end(), text, kind),
        }
        Ok(())
    }

    /// Removes every line of a plain key. Returns whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        let found = self.positions(|l| l.key() == Some(key));
        for &i in found.iter().rev() {
            self.remove_line(i);
        }
        !found.is_empty()
    }

    /// Replaces the description: every `#` and `description:` line goes, and the text is
    /// written as encoded `#` lines where the first of them was (or at the top of the
    /// section). An empty text removes the description. Read back, the text ends in `\n`.
    pub fn set_description(&mut self, text: &str) {
        let is_descr = |l: &Line| matches!(l.kind, LineKind::Comment(_) | LineKind::Description(_));
        let found = self.positions(is_descr);
        let top = usize::from(self.kind != SectionKind::Main);
        let at = found.first().copied().unwrap_or(top);
        for &i in found.iter().rev() {
            self.remove_line(i);
        }
        for (n, comment) in description::comment_lines(text).into_iter().enumerate() {
            let len = comment.len();
            self.insert_line(at + n, comment, LineKind::Comment(1..len));
        }
    }

    fn positions(&self, pred: impl Fn(&Line) -> bool) -> Vec<usize> {
        (0..self.lines.len())
            .filter(|&i| pred(&self.lines[i]))
            .collect()
    }

    fn lxc_line(&self, key: &str, value: &str) -> Result<(String, LineKind), EditError> {
        let refused = |reason: String| {
            Err(EditError::LxcKey {
                key: key.to_owned(),
                reason,
            })
        };
        if !key.starts_with("lxc.") {
            return refused("raw keys start with 'lxc.'".to_owned());
        }
        check_value(key, value, true)?;
        let text = format!("{key}: {value}");
        match classify(&text, self.in_pending()) {
            (LineKind::Lxc { key: k, value }, _) if &text[k.clone()] == key => {
                Ok((text, LineKind::Lxc { key: k, value }))
            }
            (_, Some(warning)) => refused(warning.proxmox_text()),
            (_, None) => refused("not a raw lxc key".to_owned()),
        }
    }

    /// Appends a raw `lxc.*` entry as `key: value`, after the section's last raw entry (or
    /// its last non-blank line). Keys Proxmox would drop are refused.
    pub fn add_lxc(&mut self, key: &str, value: &str) -> Result<(), EditError> {
        let (text, kind) = self.lxc_line(key, value)?;
        let at = match self.positions(|l| l.lxc().is_some()).last() {
            Some(&i) => i + 1,
            None => self.content_end(),
        };
        self.insert_line(at, text, kind);
        Ok(())
    }

    /// Makes `key` hold exactly one entry with `value`: the first existing line is changed in
    /// place (keeping its `:` or `=` form) and any others are removed; if there is none, one
    /// is added as with [`add_lxc`](Self::add_lxc).
    pub fn set_lxc_unique(&mut self, key: &str, value: &str) -> Result<(), EditError> {
        self.replace_lxc(key, &[value])
    }

    /// Makes `key` hold exactly `values`, in order, touching as few lines as possible: existing
    /// lines are reused in place, surplus ones removed, and missing ones added after the last.
    pub fn replace_lxc(&mut self, key: &str, values: &[&str]) -> Result<(), EditError> {
        let mut new_lines = Vec::with_capacity(values.len());
        for value in values {
            new_lines.push(self.lxc_line(key, value)?);
        }
        let found = self.positions(|l| l.lxc().is_some_and(|(k, _)| k == key));
        for (&at, value) in found.iter().zip(values) {
            if self.lines[at].lxc().map(|(_, v)| v) != Some(value) {
                self.replace_value(at, value);
            }
        }
        for &at in found.iter().skip(values.len()).rev() {
            self.remove_line(at);
        }
        if values.len() > found.len() {
            let kept = found.len().min(values.len());
            let at = match kept.checked_sub(1) {
                Some(last) => found[last] + 1,
                None => match self.positions(|l| l.lxc().is_some()).last() {
                    Some(&i) => i + 1,
                    None => self.content_end(),
                },
            };
            for (n, (text, kind)) in new_lines.into_iter().skip(found.len()).enumerate() {
                self.insert_line(at + n, text, kind);
            }
        }
        Ok(())
    }

    /// Removes every entry of a raw `lxc.*` key. Returns how many were removed.
    pub fn remove_lxc(&mut self, key: &str) -> usize {
        let found = self.positions(|l| l.lxc().is_some_and(|(k, _)| k == key));
        for &i in found.iter().rev() {
            self.remove_line(i);
        }
        found.len()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_texts() {
        let mut conf = crate::conf::CtConf::new();
        assert_eq!(
            conf.set("Bad", "1").unwrap_err().to_string(),
            "invalid key 'Bad' - keys match [a-z][a-z_]*\\d*"
        );
        assert_eq!(
            conf.set("delete", "a").unwrap_err().to_string(),
            "invalid key 'delete' - 'delete' is only allowed in [pve:pending]"
        );
        assert_eq!(
            conf.set("lxc.idmap", "u 0 1 1").unwrap_err().to_string(),
            "invalid key 'lxc.idmap' - use set_description or the lxc methods for this key"
        );
        assert_eq!(
            conf.set("memory", "").unwrap_err().to_string(),
            "invalid value for 'memory' - values cannot be empty"
        );
        assert_eq!(
            conf.set("memory", " 5").unwrap_err().to_string(),
            "invalid value for 'memory' - values cannot start or end with whitespace"
        );
        assert_eq!(
            conf.set("memory", "5\n6").unwrap_err().to_string(),
            "invalid value for 'memory' - values cannot hold a line break"
        );
        assert_eq!(
            conf.add_lxc("lxc.rootfs.path", "/x")
                .unwrap_err()
                .to_string(),
            "raw key 'lxc.rootfs.path' would be dropped by proxmox - lxc.rootfs.path: lxc.rootfs.path is auto generated from rootfs"
        );
        assert_eq!(
            conf.add_lxc("lxc.bogus", "1").unwrap_err().to_string(),
            "raw key 'lxc.bogus' would be dropped by proxmox - unable to parse config: lxc.bogus: 1"
        );
        assert_eq!(
            conf.add_lxc("idmap", "1").unwrap_err().to_string(),
            "raw key 'idmap' would be dropped by proxmox - raw keys start with 'lxc.'"
        );
        assert_eq!(
            conf.snapshot_mut("x").unwrap_err().to_string(),
            "invalid section name 'x' - names match [a-z][a-z0-9_-]+"
        );
        assert_eq!(conf.render(), "");
    }
}
