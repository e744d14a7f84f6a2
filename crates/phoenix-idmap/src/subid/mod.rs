//! `/etc/subuid` and `/etc/subgid`: which host ids each user may map into user
//! namespaces.
//!
//! ```text
//! # name:start:count
//! root:100000:65536
//! root:1000:1
//! alice:165536:65536
//! ```
//!
//! Why phoenix cares: LXC's and Proxmox's helpers (`newuidmap`, `lxc-usernsexec`) only
//! map host ids that are delegated to root here, so a custom `lxc.idmap` that maps host
//! uid 1000 needs `root:1000:1`. Editing is lossless and append-only: other users'
//! lines are never touched.

mod file;
mod io;

pub use file::{SubIdEntry, SubIdFile, SubIdLine, SubIdLineProblem, SubIdParseError, excerpt};
pub use io::{Ensured, SubIdIoError, SubIdPaths, ensure_file, read_optional, write_atomic};
