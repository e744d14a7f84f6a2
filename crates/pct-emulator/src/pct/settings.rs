//! `config`, `pending`, `list` and `unlock`.

use phoenix_pveconf::conf::{Section, encode_text};

use crate::error::{Failure, Result};
use crate::lxc::State;
use crate::pct::args::{self, OptKind};
use crate::pct::ctx::Node;

pub(crate) fn run(node: &Node, cmd: &str, rest: &[String]) -> Result<i32> {
    match cmd {
        "set" => crate::pct::set::set(node, rest),
        "config" => config(node, rest),
        "pending" => pending(node, rest),
        "list" => list(node, rest),
        _ => unlock(node, rest),
    }
    .map(|()| 0)
}

/// The `key: value` lines `pct config` prints for a section.
pub fn config_lines(section: &Section, pending: Option<&Section>) -> Result<Vec<String>> {
    let mut kv: std::collections::BTreeMap<String, String> = section
        .entries()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut description = section.description();
    if let Some(p) = pending {
        for (k, v) in p.entries().filter(|(k, _)| *k != "delete") {
            kv.insert(k.to_owned(), v.to_owned());
        }
        if let Some(d) = p.description() {
            description = Some(d);
        }
        // vm_config without --current: keys waiting to be deleted are not shown
        for d in p.deletes() {
            let key = d.trim_start_matches('!');
            kv.remove(key);
            if key == "description" {
                description = None;
            }
        }
    }
    kv.remove("digest");
    if let Some(d) = description {
        kv.insert("description".into(), encode_text(&d));
    }
    if let Some(m) = kv
        .get("memory")
        .and_then(|m| m.parse::<u64>().ok())
        .filter(|m| *m < 16)
    {
        let _ = m;
        return Err(Failure::Die(
            "400 Result verification failed\nmemory: value must have a minimum value of 16".into(),
        ));
    }
    let mut out: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
    out.extend(section.lxc().map(|(k, v)| format!("{k}: {v}")));
    Ok(out)
}

fn config(node: &Node, rest: &[String]) -> Result<()> {
    let kind = |n: &str| match n {
        "current" => Some(OptKind::Bool),
        "snapshot" => Some(OptKind::Value),
        _ => None,
    };
    let p = args::parse(rest, &kind, false)?;
    args::positionals(&p, &["vmid"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    let conf = node.load(vmid)?;
    let lines = match p.get("snapshot") {
        Some(s) => config_lines(
            conf.snapshot(s)
                .ok_or_else(|| Failure::Die(format!("snapshot '{s}' does not exist")))?,
            None,
        )?,
        None if p.flag("current") => config_lines(conf.main(), None)?,
        None => config_lines(conf.main(), conf.pending())?,
    };
    for l in lines {
        crate::out::line(l);
    }
    Ok(())
}

fn pending(node: &Node, rest: &[String]) -> Result<()> {
    let p = args::parse(rest, &|_| None, false)?;
    args::positionals(&p, &["vmid"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    let conf = node.load(vmid)?;
    let mut keys: std::collections::BTreeSet<String> =
        conf.entries().map(|(k, _)| k.to_owned()).collect();
    let (pend, dels): (Vec<(String, String)>, Vec<String>) = match conf.pending() {
        Some(p) => (
            p.entries()
                .filter(|(k, _)| *k != "delete")
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            p.deletes()
                .iter()
                .map(|d| d.trim_start_matches('!').to_owned())
                .collect(),
        ),
        None => (vec![], vec![]),
    };
    keys.extend(pend.iter().map(|(k, _)| k.clone()));
    keys.remove("digest");
    for k in keys {
        let cur = conf.get(&k);
        let new = pend.iter().find(|(pk, _)| *pk == k).map(|(_, v)| v);
        if dels.contains(&k) {
            crate::out::line(format!("del {k}: {}", cur.unwrap_or("")));
        } else if let Some(n) = new {
            if let Some(c) = cur {
                crate::out::line(format!("cur {k}: {c}"));
            }
            crate::out::line(format!("new {k}: {n}"));
        } else if let Some(c) = cur {
            crate::out::line(format!("cur {k}: {c}"));
        }
    }
    Ok(())
}

fn list(node: &Node, rest: &[String]) -> Result<()> {
    let p = args::parse(rest, &|_| None, false)?;
    args::positionals(&p, &[])?;
    let mut ids: Vec<u32> = match std::fs::read_dir(node.root.conf_dir()) {
        Ok(rd) => rd
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".conf")?
                    .parse()
                    .ok()
            })
            .collect(),
        Err(_) => vec![],
    };
    ids.sort_unstable();
    if ids.is_empty() {
        return Ok(());
    }
    crate::out::line(format!(
        "{:<10} {:<10} {:<12} {:<20}",
        "VMID", "Status", "Lock", "Name"
    ));
    for id in ids {
        let Ok(conf) = node.load(id) else { continue };
        let template = conf.get("template") == Some("1");
        let running = !template && node.lxc.state(id).is_ok_and(|s| s == State::Running);
        let name: String = conf
            .get("hostname")
            .map(|h| h.split_whitespace().collect())
            .unwrap_or_else(|| format!("CT{id}"));
        crate::out::line(format!(
            "{:<10} {:<10} {:<12} {:<20}",
            id,
            if running { "running" } else { "stopped" },
            conf.get("lock").unwrap_or(""),
            name
        ));
    }
    Ok(())
}

fn unlock(node: &Node, rest: &[String]) -> Result<()> {
    let p = args::parse(rest, &|_| None, false)?;
    args::positionals(&p, &["vmid"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    let _g = node.lock(vmid)?;
    let mut conf = node.load(vmid)?;
    if !conf.remove("lock") {
        return Err(Failure::Die(
            "no lock found trying to remove any lock".into(),
        ));
    }
    node.store(vmid, &conf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_pveconf::conf::CtConf;

    #[test]
    fn config_merges_pending_and_encodes_the_description() {
        let c = CtConf::parse("#Owner%3A me\nmemory: 512\nlxc.idmap = u 0 100000 65536\n\n[pve:pending]\nmemory: 1024\n").conf;
        assert_eq!(
            config_lines(c.main(), c.pending()).unwrap(),
            [
                "description: Owner%3A me%0A",
                "memory: 1024",
                "lxc.idmap: u 0 100000 65536"
            ]
        );
        assert_eq!(config_lines(c.main(), None).unwrap()[1], "memory: 512");
        // pending deletes are hidden, --current shows them
        let c = CtConf::parse(
            "memory: 512\nswap: 256\nfeatures: nesting=1\n\n[pve:pending]\ndelete: !features,swap\n",
        )
        .conf;
        assert_eq!(
            config_lines(c.main(), c.pending()).unwrap(),
            ["memory: 512"]
        );
        assert_eq!(config_lines(c.main(), None).unwrap().len(), 3);
        let bad = CtConf::parse("memory: 8\n").conf;
        assert_eq!(
            config_lines(bad.main(), None).unwrap_err().to_string(),
            "400 Result verification failed\nmemory: value must have a minimum value of 16"
        );
    }
}
