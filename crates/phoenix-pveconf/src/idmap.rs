//! The effective id map of a parsed CT conf.

use phoenix_idmap::{
    Delegations, IDMAP_KEY, IdMap, IdMapError, IdMapWarning, LEGACY_IDMAP_KEY, ParseIdMapEntryError,
};

use crate::conf::CtConf;

/// How Proxmox reads the `unprivileged` flag of the current section: the accepted
/// boolean spellings (`1 0 on off yes no true false`, any case). Any other value is kept
/// raw by Proxmox's parser (with a warning) and is then true for Perl, so it counts as set.
fn unprivileged_flag(conf: &CtConf) -> bool {
    conf.unprivileged().unwrap_or(true)
}

/// The effective map of a conf's current section: its `lxc.idmap` entries, else the
/// default when `unprivileged` is set, else identity. A bad entry fails with
/// Proxmox's `failed to parse idmap: <value>`.
///
/// ```
/// use phoenix_pveconf::{conf::CtConf, idmap};
/// let conf = CtConf::parse("unprivileged: 1\nlxc.idmap = u 0 200000 65536\n").conf;
/// let map = idmap::from_conf(&conf).unwrap();
/// assert_eq!(map.root_host_uid(), 200000);
/// assert_eq!(map.root_host_gid(), 0);
/// ```
pub fn from_conf(conf: &CtConf) -> Result<IdMap, ParseIdMapEntryError> {
    IdMap::from_lxc_values(unprivileged_flag(conf), conf.lxc_values(IDMAP_KEY))
}

/// Number of `lxc.id_map` lines in the current section: Proxmox ignores them when it
/// maps ids, so a conf relying on them gets the default map (or none).
pub fn legacy_idmap_lines(conf: &CtConf) -> usize {
    conf.lxc_values(LEGACY_IDMAP_KEY).len()
}

/// Everything phoenix says about the map of one conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfIdMapCheck {
    /// The effective map.
    pub map: IdMap,
    /// Proxmox's verdict on the entries (`None`: valid).
    pub error: Option<IdMapError>,
    /// phoenix's stricter warnings, including ignored `lxc.id_map` lines.
    pub warnings: Vec<IdMapWarning>,
}

/// Reads a conf's map, validates it as Proxmox does and adds phoenix's warnings
/// (checked against `/etc/subuid` and `/etc/subgid` when `delegations` is given).
/// Fails only when an `lxc.idmap` value cannot be parsed.
pub fn check_conf(
    conf: &CtConf,
    delegations: Option<Delegations<'_>>,
) -> Result<ConfIdMapCheck, ParseIdMapEntryError> {
    let map = from_conf(conf)?;
    let mut warnings = Vec::new();
    let lines = legacy_idmap_lines(conf);
    if lines > 0 {
        warnings.push(IdMapWarning::LegacyKeyIgnored { lines });
    }
    warnings.extend(map.warnings(delegations));
    Ok(ConfIdMapCheck {
        error: map.validate().err(),
        map,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_idmap::idmap::IdMapSource;

    fn map(src: &str) -> IdMap {
        from_conf(&CtConf::parse(src).conf).unwrap()
    }

    #[test]
    fn flag_spellings_follow_proxmox() {
        for on in ["1", "yes", "ON", "true", "bogus"] {
            assert_eq!(
                map(&format!("unprivileged: {on}\n")).source(),
                IdMapSource::UnprivilegedDefault,
                "{on}"
            );
        }
        for off in ["0", "no", "OFF", "False"] {
            assert_eq!(
                map(&format!("unprivileged: {off}\n")).source(),
                IdMapSource::Privileged,
                "{off}"
            );
        }
        assert_eq!(map("memory: 512\n").source(), IdMapSource::Privileged);
    }

    #[test]
    fn only_lxc_idmap_counts_in_either_form() {
        let src = "unprivileged: 1\nlxc.id_map: u 0 5 1\nlxc.idmap: u 0 200000 65536\nlxc.idmap=g 0 200000 65536\n";
        let conf = CtConf::parse(src).conf;
        let m = from_conf(&conf).unwrap();
        assert_eq!(m.entries().len(), 2);
        assert_eq!((m.root_host_uid(), m.root_host_gid()), (200000, 200000));
        assert_eq!(legacy_idmap_lines(&conf), 1);
        // Only lxc.id_map: Proxmox uses the default map.
        assert_eq!(
            map("unprivileged: 1\nlxc.id_map: u 0 5 1\n").source(),
            IdMapSource::UnprivilegedDefault
        );
    }

    #[test]
    fn snapshot_and_pending_sections_do_not_count() {
        let m = map("unprivileged: 1\n\n[snap1]\nlxc.idmap: u 0 5 1\n");
        assert_eq!(m.source(), IdMapSource::UnprivilegedDefault);
    }

    #[test]
    fn check_conf_reports_error_and_warnings_together() {
        let src = "lxc.id_map: u 0 5 1\nlxc.idmap: u 0 100000 65536\nlxc.idmap: u 0 100000 65536\n";
        let check = check_conf(&CtConf::parse(src).conf, None).unwrap();
        assert_eq!(
            check.error.unwrap().to_string(),
            "invalid map entry 'u 0 100000 65536': container uid 0 is also mapped by entry 'u 0 100000 65536'"
        );
        let texts: Vec<String> = check.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "1 lxc.id_map line(s) ignored: proxmox reads maps only from lxc.idmap",
                "lxc.idmap entries without 'unprivileged: 1': lxc maps ids but proxmox treats the container as privileged",
                "the map has uid entries but no gid entries, so no container gid is mapped",
            ]
        );
        let ok = check_conf(&CtConf::parse("unprivileged: 1\n").conf, None).unwrap();
        assert_eq!((ok.error, ok.warnings), (None, vec![]));
    }

    #[test]
    fn a_bad_entry_fails_with_proxmox_message() {
        let conf = CtConf::parse("lxc.idmap: u 0 100000\n").conf;
        assert_eq!(
            from_conf(&conf).unwrap_err().to_string(),
            "failed to parse idmap: u 0 100000"
        );
    }
}
