//! Proxmox's rewrite of a conf (`write_pct_config` after `parse_pct_config`).

use std::collections::BTreeMap;

use super::description::{comment_lines, decode_text};
use super::line::LineKind;
use super::schema::check_value;
use super::{CtConf, Section, SectionKind};

/// Keys Proxmox's generator skips (they hold its own bookkeeping).
const SKIPPED: &[&str] = &[
    "description",
    "digest",
    "lxc",
    "pending",
    "snapname",
    "snapshots",
];

/// What Proxmox's parsed hash holds for one section.
#[derive(Debug, Default)]
struct Model {
    description: Option<String>,
    keys: BTreeMap<String, String>,
    env: Vec<String>,
    lxc: Vec<(String, String)>,
}

impl Model {
    fn of(section: &Section) -> Self {
        let mut model = Model::default();
        let mut descr = String::new();
        for line in &section.lines {
            let text = &line.text;
            match &line.kind {
                LineKind::Comment(r) => {
                    descr.push_str(&decode_text(&text[r.clone()]));
                    descr.push('\n');
                }
                LineKind::Description(r) => descr.push_str(&decode_text(&text[r.clone()])),
                LineKind::Lxc { key, value } if &text[key.clone()] == "lxc.environment.runtime" => {
                    model.env.push(text[value.clone()].to_owned());
                }
                LineKind::Lxc { key, value } => model
                    .lxc
                    .push((text[key.clone()].to_owned(), text[value.clone()].to_owned())),
                LineKind::Key { key, value } => {
                    let (key, raw) = (&text[key.clone()], &text[value.clone()]);
                    // A value failing the type check is kept raw, as Proxmox does.
                    let value = check_value(key, raw).unwrap_or_else(|_| raw.to_owned());
                    model.keys.insert(key.to_owned(), value);
                }
                LineKind::Blank | LineKind::Header | LineKind::Dropped => {}
            }
        }
        // `$conf->{description} = $descr if $descr`: "" and "0" are false in Perl.
        model.description = if !descr.is_empty() && descr != "0" {
            Some(descr)
        } else {
            model.keys.get("description").cloned()
        };
        model
    }

    fn is_empty(&self) -> bool {
        self.description.is_none()
            && self.keys.is_empty()
            && self.env.is_empty()
            && self.lxc.is_empty()
    }

    fn write(&self, out: &mut String) {
        let description = self.description.as_deref().filter(|d| *d != "0");
        for line in comment_lines(description.unwrap_or_default()) {
            out.push_str(&line);
            out.push('\n');
        }
        for (key, value) in &self.keys {
            if !SKIPPED.contains(&key.as_str()) {
                out.push_str(&format!("{key}: {value}\n"));
            }
        }
        for value in &self.env {
            out.push_str(&format!("lxc.environment.runtime: {value}\n"));
        }
        for (key, value) in &self.lxc {
            out.push_str(&format!("{key}: {value}\n"));
        }
    }
}

/// The volume of a `rootfs`/`mpN` property string: the bare first item or `volume=`.
fn volume_of(value: &str) -> Option<&str> {
    value
        .split(',')
        .find_map(|item| match item.split_once('=') {
            Some(("volume", v)) => Some(v),
            Some(_) => None,
            None => Some(item),
        })
}

/// Whether Proxmox's `get_vm_volumes` lists this volume: a storage volume (`storage:name`),
/// not a bind or device path.
fn is_storage_volume(volume: &str) -> bool {
    !volume.starts_with('/')
        && volume
            .split_once(':')
            .is_some_and(|(s, n)| !s.is_empty() && !n.is_empty())
}

pub(super) fn render(conf: &CtConf) -> String {
    let mut main = Model::of(conf.main());
    main.keys.remove("snapstate");
    let used: Vec<String> = main
        .keys
        .iter()
        .filter(|(k, _)| *k == "rootfs" || is_mount_key(k))
        .filter_map(|(_, v)| volume_of(v))
        .filter(|v| is_storage_volume(v))
        .map(str::to_owned)
        .collect();
    main.keys
        .retain(|k, v| !(k.starts_with("unused") && used.contains(v)));

    let mut pending = None;
    let mut snapshots = BTreeMap::new();
    for section in &conf.sections[1..] {
        match &section.kind {
            SectionKind::Pending => pending = Some(Model::of(section)),
            SectionKind::Snapshot(name) => {
                snapshots.insert(name.clone(), Model::of(section));
            }
            SectionKind::Main => {}
        }
    }

    let mut out = String::new();
    main.write(&mut out);
    if let Some(pending) = pending.filter(|p| !p.is_empty()) {
        out.push_str("\n[pve:pending]\n");
        pending.write(&mut out);
    }
    for (name, snapshot) in &snapshots {
        out.push_str(&format!("\n[{name}]\n"));
        snapshot.write(&mut out);
    }
    out
}

fn is_mount_key(key: &str) -> bool {
    key.strip_prefix("mp")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(src: &str) -> String {
        CtConf::parse(src).conf.render_canonical()
    }

    #[test]
    fn sorted_normalised_and_dropped() {
        let src = "#Owner%3A me\nswap: 0512\nonboot: yes\nlxc.idmap = u 0 1 1\nBAD\nmp10: a:b,mp=/x\nmp2: c:d,mp=/y\nsnapstate: prepare\n";
        assert_eq!(
            canon(src),
            "#Owner%3A me\nmp10: a:b,mp=/x\nmp2: c:d,mp=/y\nonboot: 1\nswap: 512\nlxc.idmap: u 0 1 1\n"
        );
    }

    #[test]
    fn sections_in_proxmox_order() {
        let src = "memory: 512\n\n[zeta]\nsnaptime: 2\nsnapstate: delete\n\n[alpha]\nsnaptime: 1\n[pve:pending]\n";
        assert_eq!(
            canon(src),
            "memory: 512\n\n[alpha]\nsnaptime: 1\n\n[zeta]\nsnapstate: delete\nsnaptime: 2\n"
        );
    }

    #[test]
    fn referenced_unused_volumes_go() {
        let src =
            "rootfs: local:100/a.raw,size=8G\nunused0: local:100/a.raw\nunused1: local:100/b.raw\n";
        assert_eq!(
            canon(src),
            "rootfs: local:100/a.raw,size=8G\nunused1: local:100/b.raw\n"
        );
    }

    #[test]
    fn env_entries_come_before_other_raw_keys() {
        let src = "lxc.idmap: u 0 1 1\nlxc.environment.runtime: A=1\nhostname: x\n";
        assert_eq!(
            canon(src),
            "hostname: x\nlxc.environment.runtime: A=1\nlxc.idmap: u 0 1 1\n"
        );
    }
}
