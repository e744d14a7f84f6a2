//! `pvesm status [--storage ID] [--content TYPE] [--enabled]`: Proxmox's storage table,
//! from `storage.cfg` under the root, with sizes from the host filesystem (in KiB).
//!
//! The header is the release's (pve-storage `PVE/CLI/pvesm.pm`, `$print_status`): PVE 8
//! prints `Total Used Available`; libpve-storage-perl 9.0.14 and later, so every PVE 9,
//! names the unit: `Total (KiB) Used (KiB) Available (KiB)`. Rows are the same.

use std::process::Command;

use crate::error::{Failure, Result};
use crate::pct::args::{self, OptKind};
use crate::pve::PveVersion;
use crate::root::HostRoot;
use crate::storage::{Storage, Storages};

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    /// Storage id.
    pub id: String,
    /// `dir` or `zfspool`.
    pub kind: String,
    /// `active`, `inactive` or `disabled`.
    pub status: String,
    /// Total, used and available bytes.
    pub total: u64,
    /// Used bytes.
    pub used: u64,
    /// Available bytes.
    pub avail: u64,
}

/// Renders the table as `pvesm status` of `version` prints it.
pub fn render_status(rows: &[StatusRow], version: PveVersion) -> String {
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(0) + 1;
    let [total, used, avail] = match version {
        PveVersion::V8 => ["Total", "Used", "Available"],
        PveVersion::V9 => ["Total (KiB)", "Used (KiB)", "Available (KiB)"],
    };
    let mut out = format!(
        "{:<width$} {:>10} {:>10} {:>15} {:>15} {:>15} {:>8}\n",
        "Name", "Type", "Status", total, used, avail, "%"
    );
    let mut sorted = rows.to_vec();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    for r in sorted {
        let per = if r.status == "disabled" {
            format!("{:>8}", "N/A")
        } else {
            let p = if r.total > 0 {
                r.used as f64 * 100.0 / r.total as f64
            } else {
                0.0
            };
            format!("{p:>7.2}%")
        };
        out.push_str(&format!(
            "{:<width$} {:>10} {:>10} {:>15} {:>15} {:>15} {per}\n",
            r.id,
            r.kind,
            r.status,
            r.total / 1024,
            r.used / 1024,
            r.avail / 1024
        ));
    }
    out
}

fn df(path: &std::path::Path) -> Option<(u64, u64, u64)> {
    let mut p = path.to_path_buf();
    while !p.exists() {
        p = p.parent()?.to_path_buf();
    }
    let out = Command::new("df")
        .args(["-P", "-B1"])
        .arg(&p)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<u64> = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .skip(1)
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    (f.len() == 3).then(|| (f[0], f[1], f[2]))
}

fn row(root: &HostRoot, s: &Storage) -> StatusRow {
    let path = root.join(&s.path);
    let (total, used, avail) = if s.disabled {
        (0, 0, 0)
    } else {
        df(&path).unwrap_or((0, 0, 0))
    };
    let status = if s.disabled {
        "disabled"
    } else if total > 0 {
        "active"
    } else {
        "inactive"
    };
    StatusRow {
        id: s.id.clone(),
        kind: s.kind.name().into(),
        status: status.into(),
        total,
        used,
        avail,
    }
}

/// Runs `pvesm` with `argv` (without the program name) and returns the exit code.
pub fn main(argv: &[String]) -> i32 {
    let _logged = crate::pct::hooks_log(argv, "pvesm");
    match run(argv) {
        Ok(text) => crate::out::print(&text),
        Err(e) => {
            eprintln!("{}", e.to_string().trim_end());
            if e.wants_usage() {
                eprintln!("USAGE: pvesm status [OPTIONS]");
            }
            255
        }
    }
}

fn run(argv: &[String]) -> Result<String> {
    let Some(cmd) = argv.first() else {
        return Err(Failure::Die("ERROR: no command specified".into()));
    };
    if cmd != "status" {
        return Err(Failure::Die(format!("unknown command 'pvesm {cmd}'")));
    }
    let kind = |n: &str| match n {
        "storage" | "content" | "target" => Some(OptKind::Value),
        "enabled" => Some(OptKind::Bool),
        _ => None,
    };
    let p = args::parse(&argv[1..], &kind, false)?;
    args::positionals(&p, &[])?;
    let root = HostRoot::from_env();
    let storages = Storages::load(&root).map_err(|e| Failure::Die(e.to_string()))?;
    let mut list: Vec<&Storage> = storages.all().iter().collect();
    if let Some(id) = p.get("storage") {
        list = vec![
            storages
                .storage(id)
                .map_err(|e| Failure::Die(e.to_string()))?,
        ];
    }
    if let Some(c) = p.get("content") {
        list.retain(|s| s.has_content(c));
    }
    if p.flag("enabled") {
        list.retain(|s| !s.disabled);
    }
    let rows: Vec<StatusRow> = list.into_iter().map(|s| row(&root, s)).collect();
    Ok(render_status(&rows, PveVersion::from_env()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_pvesm() {
        let rows = vec![
            StatusRow {
                id: "local-zfs".into(),
                kind: "zfspool".into(),
                status: "active".into(),
                total: 100 << 30,
                used: 25 << 30,
                avail: 75 << 30,
            },
            StatusRow {
                id: "local".into(),
                kind: "dir".into(),
                status: "active".into(),
                total: 50 << 30,
                used: 5 << 30,
                avail: 45 << 30,
            },
            StatusRow {
                id: "old".into(),
                kind: "dir".into(),
                status: "disabled".into(),
                total: 0,
                used: 0,
                avail: 0,
            },
        ];
        insta::assert_snapshot!(render_status(&rows, PveVersion::V9));
        let v8 = render_status(&rows, PveVersion::V8);
        assert_eq!(
            v8.lines()
                .next()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["Name", "Type", "Status", "Total", "Used", "Available", "%"]
        );
        assert_eq!(
            v8.lines().skip(1).collect::<Vec<_>>(),
            render_status(&rows, PveVersion::V9)
                .lines()
                .skip(1)
                .collect::<Vec<_>>()
        );
    }
}
