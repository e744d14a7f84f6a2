//! The planner: from "container uid 1000 is host uid 1000" to a complete `lxc.idmap`.

use std::fmt;
use std::str::FromStr;

use super::entry::{IdKind, IdMapEntry};
use super::map::{DEFAULT_COUNT, DEFAULT_HOST_START};
use super::validate::Side;
use crate::subid::SubIdEntry;

/// Which kinds an intent covers: `u`, `g` or `b` (both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntentKind {
    /// User ids only (`u`).
    Uid,
    /// Group ids only (`g`).
    Gid,
    /// Both user and group ids (`b`).
    Both,
}

impl IntentKind {
    fn kinds(self) -> &'static [IdKind] {
        match self {
            IntentKind::Uid => &[IdKind::Uid],
            IntentKind::Gid => &[IdKind::Gid],
            IntentKind::Both => &IdKind::ALL,
        }
    }

    fn letter(self) -> char {
        match self {
            IntentKind::Uid => 'u',
            IntentKind::Gid => 'g',
            IntentKind::Both => 'b',
        }
    }
}

/// "Container ids `ns_start..` are host ids `host_start..`", written
/// `u:1000:1000:1` (`u`, `g` or `b` for both, container id, host id, count).
///
/// ```
/// use phoenix_idmap::idmap::MapIntent;
/// let i: MapIntent = "b:1000:1000:1".parse().unwrap();
/// assert_eq!(i.to_string(), "b:1000:1000:1");
/// assert!("b:1000:1000:0".parse::<MapIntent>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MapIntent {
    /// Which kinds.
    pub kind: IntentKind,
    /// First container id.
    pub ns_start: u32,
    /// First host id.
    pub host_start: u32,
    /// Number of ids (at least 1).
    pub count: u32,
}

impl fmt::Display for MapIntent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.kind.letter(),
            self.ns_start,
            self.host_start,
            self.count
        )
    }
}

/// A map intent that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapIntentError {
    /// Not `[ugb]:<container id>:<host id>:<count>`.
    #[error("invalid map '{value}': expected [ugb]:<container id>:<host id>:<count>")]
    Syntax {
        /// The text as given.
        value: String,
    },
    /// A count of 0 maps nothing.
    #[error("invalid map '{value}': count must be at least 1")]
    Empty {
        /// The text as given.
        value: String,
    },
    /// A range that runs past id 4294967295.
    #[error("invalid map '{value}': the range runs past the largest id 4294967295")]
    PastIdSpace {
        /// The text as given.
        value: String,
    },
}

impl FromStr for MapIntent {
    type Err = MapIntentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || MapIntentError::Syntax {
            value: s.to_string(),
        };
        let fields: Vec<&str> = s.split(':').collect();
        let [kind, ns, host, count] = fields[..] else {
            return Err(syntax());
        };
        let kind = match kind {
            "u" => IntentKind::Uid,
            "g" => IntentKind::Gid,
            "b" => IntentKind::Both,
            _ => return Err(syntax()),
        };
        let number = |f: &str| -> Result<u32, MapIntentError> {
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            f.parse().map_err(|_| syntax())
        };
        let intent = MapIntent {
            kind,
            ns_start: number(ns)?,
            host_start: number(host)?,
            count: number(count)?,
        };
        if intent.count == 0 {
            return Err(MapIntentError::Empty {
                value: s.to_string(),
            });
        }
        if !intent.entry(IdKind::Uid).fits_id_space() {
            return Err(MapIntentError::PastIdSpace {
                value: s.to_string(),
            });
        }
        Ok(intent)
    }
}

impl MapIntent {
    fn entry(&self, kind: IdKind) -> IdMapEntry {
        IdMapEntry::new(kind, self.ns_start, self.host_start, self.count)
    }
}

/// Intents the planner cannot satisfy together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Two intents map the same id on one side.
    #[error("map '{intent}' conflicts with '{other}': {side} {} {id} is in both", kind.id_name())]
    Conflict {
        /// The later intent.
        intent: MapIntent,
        /// The earlier intent it clashes with.
        other: MapIntent,
        /// The side they share an id on.
        side: Side,
        /// The kind they share an id of.
        kind: IdKind,
        /// The first shared id.
        id: u32,
    },
    /// An intent takes a host id of the default range that the filled-in rest still
    /// gives to another container id.
    #[error(
        "map '{intent}' uses host {} {host_id}, which the default range gives container {} {ct_id}",
        kind.id_name(), kind.id_name()
    )]
    TakesDefaultHostId {
        /// The intent.
        intent: MapIntent,
        /// The kind.
        kind: IdKind,
        /// The host id both would use.
        host_id: u32,
        /// The container id the default range gives it to.
        ct_id: u32,
    },
}

/// The planner's result: a complete map and the delegations it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMapPlan {
    /// `lxc.idmap` entries: `u` then `g`, each sorted by container id, covering
    /// container ids 0..65535 of both kinds exactly once.
    pub entries: Vec<IdMapEntry>,
    /// Lines `/etc/subuid` needs for root, sorted by start.
    pub subuid: Vec<SubIdEntry>,
    /// Lines `/etc/subgid` needs for root, sorted by start.
    pub subgid: Vec<SubIdEntry>,
}

impl IdMapPlan {
    /// The entries as conf lines, `lxc.idmap: u 0 100000 1000`, in order.
    pub fn conf_lines(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| format!("{}: {e}", super::IDMAP_KEY))
            .collect()
    }
}

fn overlap(a: (u32, u32), b: (u32, u32)) -> Option<u32> {
    let start = u64::from(a.0.max(b.0));
    let end = (u64::from(a.0) + u64::from(a.1)).min(u64::from(b.0) + u64::from(b.1));
    (start < end).then_some(a.0.max(b.0))
}

/// Builds the complete map for a container from intents, the way Incus's `raw.idmap`
/// fills in the rest: container ids the intents do not take keep their default host id
/// (`100000 + id`), container ids they take are carved out of the default range.
///
/// ```
/// use phoenix_idmap::idmap::{plan, MapIntent};
/// let p = plan(&["b:1000:1000:1".parse::<MapIntent>().unwrap()]).unwrap();
/// let lines: Vec<String> = p.entries.iter().map(|e| e.to_string()).collect();
/// assert_eq!(lines, [
///     "u 0 100000 1000", "u 1000 1000 1", "u 1001 101001 64535",
///     "g 0 100000 1000", "g 1000 1000 1", "g 1001 101001 64535",
/// ]);
/// assert_eq!(p.subuid.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
///            ["root:1000:1", "root:100000:65536"]);
/// ```
pub fn plan(intents: &[MapIntent]) -> Result<IdMapPlan, PlanError> {
    check_conflicts(intents)?;
    let mut entries = Vec::new();
    let mut subids = [Vec::new(), Vec::new()];
    for (slot, kind) in IdKind::ALL.into_iter().enumerate() {
        let mine: Vec<&MapIntent> = intents
            .iter()
            .filter(|i| i.kind.kinds().contains(&kind))
            .collect();
        let takes_ct = |id: u32| mine.iter().any(|i| i.entry(kind).contains_container_id(id));
        for intent in &mine {
            let e = intent.entry(kind);
            // Only the part of the intent's host range inside the default range can
            // clash with the filled-in rest (at most 65536 ids).
            let lo = u64::from(e.host_start).max(u64::from(DEFAULT_HOST_START));
            let hi = e
                .host_end()
                .min(u64::from(DEFAULT_HOST_START) + u64::from(DEFAULT_COUNT));
            for host_id in (lo..hi).filter_map(|h| u32::try_from(h).ok()) {
                let ct_id = host_id - DEFAULT_HOST_START;
                if !takes_ct(ct_id) {
                    return Err(PlanError::TakesDefaultHostId {
                        intent: **intent,
                        kind,
                        host_id,
                        ct_id,
                    });
                }
            }
        }
        let mut kind_entries: Vec<IdMapEntry> = mine.iter().map(|i| i.entry(kind)).collect();
        let mut run: Option<u32> = None;
        for id in 0..=DEFAULT_COUNT {
            let free = id < DEFAULT_COUNT && !takes_ct(id);
            match (free, run) {
                (true, None) => run = Some(id),
                (false, Some(start)) => {
                    kind_entries.push(IdMapEntry::new(
                        kind,
                        start,
                        DEFAULT_HOST_START + start,
                        id - start,
                    ));
                    run = None;
                }
                _ => {}
            }
        }
        kind_entries.sort_by_key(|e| e.ns_start);
        entries.extend(kind_entries);

        let default = SubIdEntry::new("root", DEFAULT_HOST_START, DEFAULT_COUNT);
        let mut lines: Vec<SubIdEntry> = mine
            .iter()
            .map(|i| SubIdEntry::new("root", i.host_start, i.count))
            .filter(|d| !(d.start >= default.start && d.host_end() <= default.host_end()))
            .collect();
        lines.push(default);
        lines.sort_by_key(|d| (d.start, d.count));
        lines.dedup();
        subids[slot] = lines;
    }
    let [subuid, subgid] = subids;
    Ok(IdMapPlan {
        entries,
        subuid,
        subgid,
    })
}

fn check_conflicts(intents: &[MapIntent]) -> Result<(), PlanError> {
    for (later, intent) in intents.iter().enumerate() {
        for other in &intents[..later] {
            for &kind in intent.kind.kinds() {
                if !other.kind.kinds().contains(&kind) {
                    continue;
                }
                let sides = [
                    (
                        Side::Container,
                        (intent.ns_start, intent.count),
                        (other.ns_start, other.count),
                    ),
                    (
                        Side::Host,
                        (intent.host_start, intent.count),
                        (other.host_start, other.count),
                    ),
                ];
                for (side, a, b) in sides {
                    if let Some(id) = overlap(a, b) {
                        return Err(PlanError::Conflict {
                            intent: *intent,
                            other: *other,
                            side,
                            kind,
                            id,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}
