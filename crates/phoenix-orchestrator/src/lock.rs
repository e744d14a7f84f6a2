//! The fleet lock: one converging run per root at a time.
//!
//! `phoenix up` (and every command that changes containers) holds an exclusive `flock`
//! on `<root>/run/lock/phoenix/fleet.lock` for the whole run, so two runs cannot create
//! the same container twice. The second run either waits (`--wait`) or fails at once
//! naming the holder's pid. The kernel drops the lock when the process dies, so a
//! crashed run never leaves a stale lock behind. Taking the lock also removes the temp
//! files a killed run left beside the host files it was writing
//! ([`crate::hostfs::sweep_stale_temps`]).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};

use camino::{Utf8Path, Utf8PathBuf};

/// Why the fleet lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it and we were asked not to wait.
    #[error(
        "another phoenix run{} holds the fleet lock {path}; wait for it with --wait or try again later",
        holder.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Busy {
        /// The lock file.
        path: Utf8PathBuf,
        /// The pid written by the holder, when readable.
        holder: Option<u32>,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock {path}")]
    Io {
        /// The lock file.
        path: Utf8PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// A held fleet lock; released on drop.
#[derive(Debug)]
pub struct FleetLock {
    file: File,
    path: Utf8PathBuf,
}

impl FleetLock {
    /// The lock file's path under `root`.
    pub fn path_under(root: &Utf8Path) -> Utf8PathBuf {
        root.join("run/lock/phoenix/fleet.lock")
    }

    /// Takes the lock under `root`, waiting for another run to finish when `wait` is true.
    pub fn acquire(root: &Utf8Path, wait: bool) -> Result<Self, LockError> {
        let path = Self::path_under(root);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        // Never create or open the lock through a link out of the root.
        crate::hostfs::under_root_checked(root, Utf8Path::new("run/lock/phoenix/fleet.lock"))
            .map_err(|e| {
                io(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    e.to_string(),
                ))
            })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if wait {
            file.lock().map_err(io)?;
        } else {
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    let _ = file.read_to_string(&mut text);
                    return Err(LockError::Busy {
                        path,
                        holder: text.trim().parse().ok(),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        // Record who holds it, for the message the next run prints.
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        // Under the lock no other run writes host files: clear what a killed one left.
        crate::hostfs::sweep_stale_temps(root);
        Ok(FleetLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Utf8Path {
        &self.path
    }
}

impl Drop for FleetLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
        (dir, path)
    }

    #[test]
    fn taking_the_lock_removes_what_a_killed_run_left() {
        let (_d, root) = root();
        std::fs::create_dir_all(root.join("etc/pve/lxc")).unwrap();
        let stale = root.join("etc/pve/lxc/.101.conf.tmp.999999999.phoenix-7");
        std::fs::write(&stale, "memory: 5").unwrap();
        let busy = FleetLock::acquire(&root, false).unwrap();
        assert!(!stale.exists());
        // A second run that cannot take the lock sweeps nothing.
        std::fs::write(&stale, "memory: 5").unwrap();
        FleetLock::acquire(&root, false).unwrap_err();
        assert!(stale.exists());
        drop(busy);
    }

    #[test]
    fn a_second_holder_fails_fast_naming_the_first() {
        let (_d, root) = root();
        let first = FleetLock::acquire(&root, false).unwrap();
        let err = FleetLock::acquire(&root, false).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("(pid {})", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("--wait"), "{msg}");
        drop(first);
        FleetLock::acquire(&root, false).unwrap();
    }

    #[test]
    fn waiting_gets_the_lock_once_released() {
        let (_d, root) = root();
        let first = FleetLock::acquire(&root, false).unwrap();
        let r2 = root.clone();
        let waiter = std::thread::spawn(move || FleetLock::acquire(&r2, true).map(|_| ()));
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(first);
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn io_error_display_names_the_path() {
        let err = LockError::Io {
            path: "/x/fleet.lock".into(),
            source: std::io::Error::other("denied"),
        };
        assert_eq!(err.to_string(), "cannot lock /x/fleet.lock");
    }
}
