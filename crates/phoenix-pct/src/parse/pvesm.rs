//! `pvesm status`: a header and one row per storage, sorted by name. Sizes are
//! KiB; the last column is the used share with a `%` sign.
//!
//! The header depends on the release (pve-storage `PVE/CLI/pvesm.pm`, `$print_status`):
//! PVE 9 (libpve-storage-perl 9.0.14 and later) names the unit,
//! `Total (KiB) Used (KiB) Available (KiB)`; PVE 8 prints `Total Used Available`.
//! Both are read; the rows are the same.
//!
//! ```text
//! Name             Type     Status     Total (KiB)      Used (KiB) Available (KiB)        %
//! local             dir     active        98497780        10365212        83083020   10.52%
//! local-zfs     zfspool     active       436907564        93421120       343486444   21.38%
//! old               dir   disabled               0               0               0      N/A
//! ```

use std::fmt;
use std::str::FromStr;

use super::OutputError;

/// Whether a storage can be used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageState {
    /// `active`.
    Active,
    /// `inactive`: configured and enabled but not available (not mounted, ...).
    Inactive,
    /// `disabled` in `storage.cfg`.
    Disabled,
}

impl fmt::Display for StorageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StorageState::Active => "active",
            StorageState::Inactive => "inactive",
            StorageState::Disabled => "disabled",
        })
    }
}

impl FromStr for StorageState {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(StorageState::Active),
            "inactive" => Ok(StorageState::Inactive),
            "disabled" => Ok(StorageState::Disabled),
            _ => Err(()),
        }
    }
}

/// One row of `pvesm status`.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageStatus {
    /// The storage id, for example `local-zfs`.
    pub name: String,
    /// The storage type, for example `dir` or `zfspool`.
    pub storage_type: String,
    /// Active, inactive or disabled.
    pub state: StorageState,
    /// Size in KiB.
    pub total_kib: u64,
    /// Used space in KiB.
    pub used_kib: u64,
    /// Free space in KiB.
    pub available_kib: u64,
    /// Used share in percent, as printed (two decimals); `None` for a
    /// disabled storage, which pvesm prints as `N/A`.
    pub used_percent: Option<f64>,
}

const HEADER: &str = "the header 'Name Type Status Total (KiB) Used (KiB) Available (KiB) %' \
                      (PVE 9) or 'Name Type Status Total Used Available %' (PVE 8)";

/// The PVE 9 header, split on whitespace.
const COLUMNS_PVE9: &[&str] = &[
    "Name",
    "Type",
    "Status",
    "Total",
    "(KiB)",
    "Used",
    "(KiB)",
    "Available",
    "(KiB)",
    "%",
];
/// The PVE 8 header.
const COLUMNS_PVE8: &[&str] = &["Name", "Type", "Status", "Total", "Used", "Available", "%"];
const ROW: &str = "a row 'Name Type Status Total Used Available N.NN%|N/A'";

/// Reads `pvesm status` output.
pub(crate) fn parse_storage_status(stdout: &str) -> Result<Vec<StorageStatus>, OutputError> {
    super::parse_table(stdout, &[COLUMNS_PVE9, COLUMNS_PVE8], HEADER, parse_row)
}

fn parse_row(n: usize, line: &str) -> Result<StorageStatus, OutputError> {
    let err = || OutputError::new(n, line, ROW);
    let [name, kind, state, total, used, avail, percent] = line
        .split_whitespace()
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| err())?;
    let kib = |s: &str| s.parse::<u64>().map_err(|_| err());
    Ok(StorageStatus {
        name: name.to_owned(),
        storage_type: kind.to_owned(),
        state: state.parse().map_err(|()| err())?,
        total_kib: kib(total)?,
        used_kib: kib(used)?,
        available_kib: kib(avail)?,
        used_percent: match percent {
            "N/A" => None,
            p => Some(
                p.strip_suffix('%')
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(err)?,
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PVE 8.4 (libpve-storage-perl 8.3).
    const OUT: &str = "\
Name             Type     Status           Total            Used       Available        %
local             dir     active        98497780        10365212        83083020   10.52%
local-zfs     zfspool     active       436907564        93421120       343486444   21.38%
nfs-backup        nfs   inactive               0               0               0    0.00%
old               dir   disabled               0               0               0      N/A
";

    #[test]
    fn reads_every_row() {
        let rows = parse_storage_status(OUT).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].name, "local");
        assert_eq!(rows[0].storage_type, "dir");
        assert_eq!(rows[0].state, StorageState::Active);
        assert_eq!(rows[0].total_kib, 98_497_780);
        assert_eq!(rows[0].used_kib, 10_365_212);
        assert_eq!(rows[0].available_kib, 83_083_020);
        assert!((rows[0].used_percent.unwrap() - 10.52).abs() < 1e-9);
        assert_eq!(rows[2].used_percent, Some(0.0));
        assert_eq!(rows[3].used_percent, None);
        assert_eq!(rows[1].storage_type, "zfspool");
        assert_eq!(rows[2].state, StorageState::Inactive);
        assert_eq!(rows[3].state, StorageState::Disabled);
        assert_eq!(StorageState::Inactive.to_string(), "inactive");
    }

    /// PVE 9.0 (libpve-storage-perl 9.0.14): the same rows under a header naming the unit.
    const OUT_PVE9: &str = "\
Name             Type     Status     Total (KiB)      Used (KiB) Available (KiB)        %
local             dir     active        98497780        10365212        83083020   10.52%
local-zfs     zfspool     active       436907564        93421120       343486444   21.38%
nfs-backup        nfs   inactive               0               0               0    0.00%
old               dir   disabled               0               0               0      N/A
";

    #[test]
    fn pve8_and_pve9_headers_give_the_same_rows() {
        let v9 = parse_storage_status(OUT_PVE9).unwrap();
        assert_eq!(v9, parse_storage_status(OUT).unwrap());
        assert_eq!(v9[1].total_kib, 436_907_564);
        // a header of neither release is refused, naming both
        let err =
            parse_storage_status("Name Type Status Total (MiB) Used Available %\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.to_string().contains("(PVE 9) or"), "{err}");
    }

    #[test]
    fn refuses_a_short_or_garbled_row() {
        let out = format!("{}\nlocal dir active 1 2\n", OUT.lines().next().unwrap());
        assert_eq!(
            parse_storage_status(&out).unwrap_err().to_string(),
            "line 2: expected a row 'Name Type Status Total Used Available N.NN%|N/A', found 'local dir active 1 2'"
        );
        let out = format!("{}\n\nlocal dir up 1 2 3 4%\n", OUT.lines().next().unwrap());
        assert_eq!(parse_storage_status(&out).unwrap_err().line, 3);
        assert_eq!(parse_storage_status("Storage Kind\n").unwrap_err().line, 1);
    }
}
