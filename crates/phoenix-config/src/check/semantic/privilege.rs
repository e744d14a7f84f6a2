//! Privilege checks of id maps: `id_maps` entries and raw `lxc.idmap` lines. The
//! rules themselves are phoenix-idmap's ([`phoenix_idmap::privilege_problems`]); this
//! module says where they apply and which need the `allow_host_ids` opt-in.

use super::{Ctx, ct};
use crate::model::container::{IdMapKind, IdMapSpec};
use crate::schema::ConfigFile::Lxc;
use phoenix_idmap::{PrivilegeProblem, SUBID_FLOOR, privilege_problems};

pub(super) fn id_maps(ctx: &mut Ctx<'_>) {
    let containers: Vec<_> = ctx.containers().collect();
    for (id, c) in containers {
        if c.id_maps.is_empty() {
            continue;
        }
        let base = format!("{}/id_maps", ct(id));
        if !c.unprivileged {
            ctx.error(
                Lxc,
                &base,
                format!("id_maps at {base}: a privileged container (unprivileged: false) has no user namespace to map"),
            );
            continue;
        }
        let entries: Vec<_> = c.id_maps.iter().map(|m| m.to_entry()).collect();
        for (i, (spec, e)) in c.id_maps.iter().zip(&entries).enumerate() {
            let pointer = format!("{base}/{i}");
            for problem in privilege_problems(e, SUBID_FLOOR) {
                match problem {
                    // The old shape cannot carry the opt-in: the old system did this,
                    // so it is read, and listed.
                    PrivilegeProblem::BelowFloor { .. } if spec.old_shape => ctx.warning(
                        Lxc,
                        &pointer,
                        format!("id map at {pointer}: {problem}; `phoenix config upgrade` rewrites the entry with \"allow_host_ids\": true, which keeps this"),
                    ),
                    PrivilegeProblem::BelowFloor { .. } if spec.allow_host_ids => {}
                    PrivilegeProblem::BelowFloor { .. } => ctx.error(
                        Lxc,
                        &pointer,
                        format!("id map at {pointer}: {problem}; add \"allow_host_ids\": true to this entry if that is intended"),
                    ),
                    _ => ctx.error(Lxc, &pointer, format!("invalid id map at {pointer}: {problem}")),
                }
            }
        }
        let maps_root = |kind: IdMapKind| {
            c.id_maps
                .iter()
                .any(|m| m.kind == kind && m.container_start == 0)
        };
        let missing = match (maps_root(IdMapKind::Uid), maps_root(IdMapKind::Gid)) {
            (false, false) => Some("uid 0 and no container gid 0"),
            (false, true) => Some("uid 0"),
            (true, false) => Some("gid 0"),
            (true, true) => None,
        };
        if let Some(missing) = missing {
            ctx.error(
                Lxc,
                &base,
                format!(
                    "id_maps at {base}: maps no container {missing}; id_maps replaces Proxmox's default map as a whole, so container root would have no host id and the container cannot start; map the rest too, like {}",
                    complete_map(&c.id_maps)
                ),
            );
        }
        if let Err(err) = phoenix_idmap::validate_entries(&entries) {
            let phoenix_idmap::IdMapError::Overlap { entry, .. } = &err;
            let i = entries.iter().rposition(|e| e == entry).unwrap_or(0);
            let pointer = format!("{base}/{i}");
            ctx.error(Lxc, &pointer, format!("id map at {pointer}: {err}"));
        }
    }
}

/// A raw `lxc.idmap` (or the old `lxc.id_map`) line in `lxc_options`. phoenix writes
/// the map from `id_maps`, where every entry is checked and can carry the opt-in;
/// a raw line would bypass both, so it is refused, naming the entry to write instead.
pub(super) fn raw_idmap(ctx: &mut Ctx<'_>, pointer: &str, key: &str, value: &str) {
    let entry: Result<phoenix_idmap::IdMapEntry, _> = value.parse();
    let shape = match &entry {
        Ok(e) => {
            let kind = match e.kind {
                phoenix_idmap::IdKind::Uid => "u",
                phoenix_idmap::IdKind::Gid => "g",
            };
            let problems: Vec<String> = privilege_problems(e, SUBID_FLOOR)
                .iter()
                .map(ToString::to_string)
                .collect();
            let why = if problems.is_empty() {
                String::new()
            } else {
                format!(" ({})", problems.join("; "))
            };
            format!(
                "{{\"kind\": \"{kind}\", \"container_start\": {}, \"host_start\": {}, \"count\": {}}}{why}",
                e.ns_start, e.host_start, e.count
            )
        }
        Err(err) => format!(
            "an entry like {{\"kind\": \"u\", \"container_start\": 0, \"host_start\": 100000, \"count\": 65536}} (this value does not parse: {err})"
        ),
    };
    let legacy = if key == phoenix_idmap::LEGACY_IDMAP_KEY {
        " (the old key, which Proxmox keeps but never maps ids from)"
    } else {
        ""
    };
    ctx.error(
        Lxc,
        pointer,
        format!("{key} at {pointer}{legacy}: phoenix writes lxc.idmap from id_maps, where each entry is checked; write it there as {shape}"),
    );
}

/// The `id_maps` entries that map onto host ids below [`SUBID_FLOOR`] with the
/// `allow_host_ids` opt-in (or in the old shape), as `(pointer, entry)`:
/// `phoenix validate` lists them, so a grant of host ids never goes unseen.
pub fn host_id_grants(fleet: &crate::Fleet) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (id, c) in &fleet.lxc.lxc_configs {
        if !c.unprivileged {
            continue;
        }
        for (i, m) in c.id_maps.iter().enumerate() {
            let e = m.to_entry();
            if m.allow_host_ids && !m.old_shape && e.count > 0 && e.host_start < SUBID_FLOOR {
                out.push((format!("{}/id_maps/{i}", ct(*id)), e.to_string()));
            }
        }
    }
    out
}

/// The map `entries` describe, completed with Proxmox's default (container id `n`
/// to host id 100000 + `n`, for ids below 65536) wherever they leave a gap, as
/// `lxc.idmap` triples joined by "; ".
fn complete_map(entries: &[IdMapSpec]) -> String {
    let mut out = Vec::new();
    for (kind, letter) in [(IdMapKind::Uid, "u"), (IdMapKind::Gid, "g")] {
        let mut own: Vec<&IdMapSpec> = entries.iter().filter(|m| m.kind == kind).collect();
        own.sort_by_key(|m| m.container_start);
        let mut next: u64 = 0;
        for m in own {
            let start = u64::from(m.container_start);
            if start > next && next < 65536 {
                let end = start.min(65536);
                out.push(format!("{letter} {next} {} {}", 100_000 + next, end - next));
            }
            out.push(format!(
                "{letter} {} {} {}",
                m.container_start, m.host_start, m.count
            ));
            next = next.max(start + u64::from(m.count));
        }
        if next < 65536 {
            out.push(format!(
                "{letter} {next} {} {}",
                100_000 + next,
                65536 - next
            ));
        }
    }
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_map_is_completed_with_the_default() {
        let entries = [IdMapSpec {
            kind: IdMapKind::Gid,
            container_start: 33,
            host_start: 33,
            count: 1,
            allow_host_ids: true,
            old_shape: false,
        }];
        assert_eq!(
            complete_map(&entries),
            "u 0 100000 65536; g 0 100000 33; g 33 33 1; g 34 100034 65502"
        );
    }
}
