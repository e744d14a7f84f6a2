//! `pct resize <vmid> <disk> <size>`: records the new size of a volume (directories have
//! no size to grow, so only the conf changes). Exits 0 even when it fails (§3).

use crate::error::{Failure, Result};
use crate::pct::args::{self, OptKind};
use crate::pct::ctx::Node;
use crate::pct::props;

/// Parses `\+?\d+(\.\d+)?[KMGT]?` into (bytes, relative). No unit means bytes.
pub fn parse_size(s: &str) -> Option<(u64, bool)> {
    let (rel, body) = match s.strip_prefix('+') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (num, unit) = match body.char_indices().last() {
        Some((i, c @ ('K' | 'M' | 'G' | 'T'))) => (&body[..i], Some(c)),
        _ => (body, None),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || num.ends_with('.')
    {
        return None;
    }
    let mult: f64 = match unit {
        Some('K') => 1024.0,
        Some('M') => 1024.0 * 1024.0,
        Some('G') => 1024.0 * 1024.0 * 1024.0,
        Some('T') => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => 1.0,
    };
    Some(((num.parse::<f64>().ok()? * mult) as u64, rel))
}

/// Prints a size as Proxmox does in property strings: the largest exact unit.
pub fn format_size(bytes: u64) -> String {
    for (unit, m) in [
        ("T", 1u64 << 40),
        ("G", 1 << 30),
        ("M", 1 << 20),
        ("K", 1 << 10),
    ] {
        if bytes >= m && bytes.is_multiple_of(m) {
            return format!("{}{unit}", bytes / m);
        }
    }
    bytes.to_string()
}

pub(crate) fn run(node: &Node, rest: &[String]) -> Result<i32> {
    let kind = |n: &str| match n {
        "digest" => Some(OptKind::Value),
        _ => None,
    };
    let p = args::parse(rest, &kind, false)?;
    args::positionals(&p, &["vmid", "disk", "size"])?;
    let vmid = args::vmid(&p.pos[0], "vmid")?;
    let disk = p.pos[1].clone();
    if disk != "rootfs"
        && !disk
            .strip_prefix("mp")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Failure::param(
            "disk",
            format!(
                "value '{disk}' does not have a value in the enumeration 'rootfs, mp0, mp1, …'"
            ),
        ));
    }
    let (size, relative) = parse_size(&p.pos[2])
        .ok_or_else(|| Failure::param("size", "value does not match the regex pattern"))?;
    let _g = node.lock(vmid)?;
    let mut conf = node.load(vmid)?;
    Node::check_lock(&conf, false)?;
    let value = conf
        .get(&disk)
        .map(str::to_owned)
        .ok_or_else(|| Failure::Die(format!("parameter '{disk}' does not exist")))?;
    let volume = props::get(&value, Some("volume"), "volume").unwrap_or_default();
    if volume.starts_with('/') {
        return Err(Failure::Task(format!(
            "it is not possible to resize a bind or device mount ('{volume}')"
        )));
    }
    let current = props::get(&value, Some("volume"), "size")
        .and_then(|s| parse_size(&s))
        .map(|(b, _)| b)
        .unwrap_or(0);
    let new = if relative { current + size } else { size };
    if new < current {
        return Err(Failure::Task("unable to shrink disk size".into()));
    }
    if new == current {
        return Err(Failure::Task("disk is already at specified size".into()));
    }
    let updated = props::with(&value, Some("volume"), "size", &format_size(new));
    crate::pct::create::set(
        &mut conf,
        &disk,
        &crate::pct::schema::canonical_mount(&disk, &updated)?,
    )?;
    node.store(vmid, &conf)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_pct_reads_them() {
        assert_eq!(parse_size("8G"), Some((8 << 30, false)));
        assert_eq!(parse_size("+512M"), Some((512 << 20, true)));
        assert_eq!(parse_size("1024"), Some((1024, false)));
        assert_eq!(parse_size("1.5G"), Some((3 << 29, false)));
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("-1G"), None);
        assert_eq!(format_size(8 << 30), "8G");
        assert_eq!(format_size(1536 << 20), "1536M");
        assert_eq!(format_size(1000), "1000");
    }
}
