//! Names of the temporary files phoenix's atomic writers use, and the sweep that removes
//! the ones a killed run left behind.
//!
//! Every writer puts its new content in a temp file beside the target and renames it
//! into place, so a reader (or a crash) sees the old file or the new one, never a mix.
//! A run killed between creating the temp and the rename leaves the temp behind; the
//! name says who made it and for which file, so the next run can remove it safely:
//!
//! ```text
//! <dir>/.<file>.tmp.<pid>.phoenix-<nonce>      e.g. /etc/.subuid.tmp.4242.phoenix-17
//! ```
//!
//! It is Proxmox's own `<file>.tmp.<pid>` shape (`PVE::Tools::file_set_contents`) with a
//! leading dot and a `phoenix-` suffix: the dot keeps it out of what AppArmor loads when
//! it includes a directory and out of Proxmox's `<vmid>.conf` listing, and the suffix
//! keeps the sweep from ever touching a temp that Proxmox itself is writing.
//!
//! ```
//! use phoenix_hostpath::temp::{stale_temp_pid, sweep_stale_temps, temp_path_for};
//! let dir = tempfile::tempdir().unwrap();
//! let tmp = temp_path_for(&dir.path().join("subuid"));
//! let name = tmp.file_name().unwrap().to_str().unwrap();
//! assert!(name.starts_with(".subuid.tmp."));
//! assert_eq!(stale_temp_pid(name), Some(std::process::id()));
//! // A temp of a process that is gone is removed; our own (live) one is kept.
//! std::fs::write(dir.path().join(".subuid.tmp.999999999.phoenix-1"), "half").unwrap();
//! std::fs::write(&tmp, "in progress").unwrap();
//! let removed = sweep_stale_temps(dir.path()).unwrap();
//! assert_eq!(removed, [dir.path().join(".subuid.tmp.999999999.phoenix-1")]);
//! assert!(tmp.exists());
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// What follows the pid in every phoenix temp name.
pub const MARKER: &str = ".phoenix-";

/// Tells temps of one process apart (two writes of one process never share a name).
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temp file an atomic write of `target` uses: beside it, named for it and for
/// this process (see the module docs).
pub fn temp_path_for(target: &Path) -> PathBuf {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(
        ".{name}.tmp.{}{MARKER}{nanos}{count}",
        std::process::id()
    ))
}

/// The pid of the process that made the temp named `name`, when `name` is a phoenix temp
/// name; `None` for any other file (Proxmox's own `101.conf.tmp.4242`, a user's file).
pub fn stale_temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (target, tail) = rest.rsplit_once(".tmp.")?;
    let (pid, nonce) = tail.split_once(MARKER)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if target.is_empty() || !digits(pid) || !digits(nonce) {
        return None;
    }
    pid.parse().ok()
}

/// Whether the process `pid` still runs (it may still be writing its temp). Reads the
/// real `/proc`: the writers run on this kernel whatever `--root` is.
fn running(pid: u32) -> bool {
    pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists()
}

/// Removes, in `dir`, every phoenix temp file whose process is gone, and returns what it
/// removed. A missing `dir` holds nothing; only regular files are removed (a directory or
/// symlink of that name is left alone), and a temp of a process that still runs is kept.
pub fn sweep_stale_temps(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(stale_temp_pid) else {
            continue;
        };
        if running(pid) || !entry.file_type()?.is_file() {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed.push(entry.path()),
            // Another sweep got there first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_recognised_and_others_are_not() {
        assert_eq!(stale_temp_pid(".subuid.tmp.42.phoenix-7"), Some(42));
        assert_eq!(stale_temp_pid(".101.conf.tmp.42.phoenix-123"), Some(42));
        assert_eq!(stale_temp_pid(".a.tmp.b.tmp.42.phoenix-1"), Some(42));
        for other in [
            "subuid",
            "101.conf.tmp.42",
            ".101.conf.tmp.42",
            "subuid.tmp.42.phoenix-1",
            ".subuid.tmp.x.phoenix-1",
            ".subuid.tmp.42.phoenix-",
            ".subuid.tmp.42.phoenix-1x",
            "..tmp.42.phoenix-1",
            ".phoenix-abc",
        ] {
            assert_eq!(stale_temp_pid(other), None, "{other}");
        }
    }

    #[test]
    fn two_temps_of_one_target_differ() {
        let a = temp_path_for(Path::new("/etc/subuid"));
        let b = temp_path_for(Path::new("/etc/subuid"));
        assert_ne!(a, b);
        assert_eq!(a.parent(), Some(Path::new("/etc")));
    }

    #[test]
    fn sweep_leaves_other_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("101.conf.tmp.999999999"), "proxmox's").unwrap();
        std::fs::write(d.join("subuid"), "root:100000:65536\n").unwrap();
        std::fs::create_dir(d.join(".x.tmp.999999999.phoenix-1")).unwrap();
        std::fs::write(d.join(".y.tmp.999999999.phoenix-2"), "").unwrap();
        let removed = sweep_stale_temps(d).unwrap();
        assert_eq!(removed, [d.join(".y.tmp.999999999.phoenix-2")]);
        assert!(d.join("101.conf.tmp.999999999").exists());
        assert!(d.join("subuid").exists());
        assert!(d.join(".x.tmp.999999999.phoenix-1").is_dir());
        assert_eq!(
            sweep_stale_temps(&d.join("missing")).unwrap(),
            Vec::<PathBuf>::new()
        );
    }
}
