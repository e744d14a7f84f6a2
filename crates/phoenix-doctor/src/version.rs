//! Version comparison for the few versions doctor judges: Debian package versions
//! (`6.0.5-2`, `1:5.0.2-1+deb12u4`) and module versions (`2.2.6-pve1`).
//!
//! A version is compared as the list of its numbers, left to right (the epoch, then the
//! upstream part, then the Debian revision), which orders every version Proxmox ships
//! for these packages the way dpkg does; letters and `~` are not weighed.

use std::cmp::Ordering;

fn numbers(s: &str) -> Vec<u64> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn parts(v: &str) -> (u64, Vec<u64>, Vec<u64>) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.bytes().all(|b| b.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
        _ => (0, v),
    };
    let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (epoch, numbers(upstream), numbers(revision))
}

/// Compares two package versions by their numbers (see the module docs).
///
/// ```
/// use std::cmp::Ordering;
/// use phoenix_doctor::version::compare;
/// assert_eq!(compare("6.0.5-1", "6.0.5-2"), Ordering::Less);
/// assert_eq!(compare("6.0.10-1", "6.0.5-2"), Ordering::Greater);
/// assert_eq!(compare("2.2.6-pve1", "2.2"), Ordering::Greater);
/// ```
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = parts(a);
    let (eb, ub, rb) = parts(b);
    ea.cmp(&eb)
        .then_with(|| ua.cmp(&ub))
        .then_with(|| ra.cmp(&rb))
}

/// The first two numbers of a version (`2.2.6-pve1` is `(2, 2)`).
pub fn major_minor(v: &str) -> Option<(u64, u64)> {
    let n = numbers(v.split('-').next().unwrap_or(v));
    Some((*n.first()?, n.get(1).copied().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_versions_order_by_their_numbers() {
        assert_eq!(compare("6.0.0-1", "6.0.5-2"), Ordering::Less);
        assert_eq!(compare("6.0.5-2", "6.0.5-2"), Ordering::Equal);
        assert_eq!(compare("6.0.5-3", "6.0.5-2"), Ordering::Greater);
        assert_eq!(compare("1:5.0.2-1+deb12u4", "6.0.5-2"), Ordering::Greater);
        assert_eq!(major_minor("2.1.15-pve1"), Some((2, 1)));
        assert_eq!(major_minor("zfs"), None);
    }
}
