//! `pct list`: nothing at all when there are no CTs, otherwise a header and
//! rows printed with `printf "%-10s %-10s %-12s %-20s\n"` (VMID, Status, Lock,
//! Name), sorted numerically. Lock is blank when unlocked; Name never contains
//! whitespace (pct strips it) and falls back to `CT<id>`.
//!
//! ```text
//! VMID       Status     Lock         Name                
//! 100        running                 web1                
//! 101        stopped    snapshot     db                  
//! ```

use phoenix_pveconf::Vmid;

use super::OutputError;
use crate::state::{CtStatus, Lock};

/// One row of `pct list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The container id.
    pub vmid: Vmid,
    /// Running or stopped (templates are stopped).
    pub status: CtStatus,
    /// The `lock:` value, if any.
    pub lock: Option<Lock>,
    /// The hostname with whitespace removed, or `CT<id>`.
    pub name: String,
}

const HEADER: &str = "the header 'VMID Status Lock Name'";
const ROW: &str = "a row 'VMID Status [Lock] Name'";

/// Reads `pct list` output.
pub(crate) fn parse_list(stdout: &str) -> Result<Vec<ListEntry>, OutputError> {
    super::parse_table(
        stdout,
        &[&["VMID", "Status", "Lock", "Name"]],
        HEADER,
        parse_row,
    )
}

fn parse_row(n: usize, line: &str) -> Result<ListEntry, OutputError> {
    let err = || OutputError::new(n, line, ROW);
    // Lock is the only column that can be blank, so three words mean "no lock".
    let words: Vec<&str> = line.split_whitespace().collect();
    let (vmid, status, lock, name) = match words[..] {
        [vmid, status, name] => (vmid, status, None, name),
        [vmid, status, lock, name] => (vmid, status, Some(lock), name),
        _ => return Err(err()),
    };
    Ok(ListEntry {
        vmid: vmid.parse().map_err(|_| err())?,
        status: status.parse().map_err(|_| err())?,
        lock: lock.map(|l| l.parse().unwrap_or_else(|never| match never {})),
        name: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(vmid: &str, status: &str, lock: &str, name: &str) -> String {
        format!("{vmid:<10} {status:<10} {lock:<12} {name:<20}\n")
    }

    #[test]
    fn no_containers_prints_nothing() {
        assert_eq!(parse_list(""), Ok(vec![]));
    }

    #[test]
    fn reads_rows_with_and_without_locks() {
        let out = [
            row("VMID", "Status", "Lock", "Name"),
            row("100", "running", "", "web1"),
            row("101", "stopped", "snapshot-delete", "CT101"),
        ]
        .concat();
        let rows = parse_list(&out).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].vmid.get(), 100);
        assert_eq!(rows[0].status, CtStatus::Running);
        assert_eq!(rows[0].lock, None);
        assert_eq!(rows[0].name, "web1");
        assert_eq!(rows[1].lock, Some(Lock::SnapshotDelete));
        assert_eq!(rows[1].name, "CT101");
    }

    #[test]
    fn refuses_a_bad_header_or_row() {
        let err = parse_list("ID State\n").unwrap_err();
        assert_eq!(err.line, 1);
        let out = [
            row("VMID", "Status", "Lock", "Name"),
            "100 running\n".to_owned(),
        ]
        .concat();
        assert_eq!(
            parse_list(&out).unwrap_err().to_string(),
            "line 2: expected a row 'VMID Status [Lock] Name', found '100 running'"
        );
        let out = [
            row("VMID", "Status", "Lock", "Name"),
            row("42", "running", "", "x"),
        ]
        .concat();
        assert_eq!(parse_list(&out).unwrap_err().line, 2);
    }
}
