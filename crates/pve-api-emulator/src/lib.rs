//! An emulator of the Proxmox VE REST API for phoenix's cluster tests: two or more
//! emulated nodes, each a pct-emulator root, sharing `/etc/pve` by replication, served
//! over HTTPS with an API token; and `pve-emu-ssh`, the `ssh` stand-in for the node path.
//!
//! ```text
//! pve-api-emulator --listen 127.0.0.1:PORT --nodes pve1,pve2 --token-file FILE
//!                  [--token-id USER@REALM!TOKENID] [--pct PATH] [--cert-out FILE]
//!                  [--latency-ms N] [--busybox PATH]
//! ```
//!
//! State lives under `PHOENIX_ROOT` (required; layout in [`layout`]). On start the
//! emulator prepares each node root, makes a self-signed certificate (written to
//! `--cert-out` as PEM), a random token secret for `--token-id` (default
//! `phoenix@pve!test`) written as `USER@REALM!TOKENID=SECRET` to `--token-file` (mode
//! 0600), and prints one line when it is ready:
//! `listening https://127.0.0.1:PORT fingerprint AB:CD:...` (`--listen 127.0.0.1:0`
//! picks a free port; the line has the real one). The secret is never printed or logged.
//!
//! Endpoints, JSON shapes, errors and UPIDs are those of CLUSTER-DESIGN.md ([`api`]);
//! what a token may not do is in [`perm`]. Environment:
//!
//! - `PVE_API_EMU_LATENCY_MS`, `PVE_API_EMU_LOCK_FAIL`, `PVE_API_EMU_TASK_LOCKED`,
//!   `PVE_API_EMU_FAIL_TASK`: latency and fault injection ([`faults`]);
//! - `PVE_API_EMU_LOG=FILE`: appends `METHOD PATH STATUS` per request (no query, headers,
//!   body or token), so a test can check a run made only GETs;
//! - `PCT_EMU_FAIL`, `PCT_EMU_LATENCY_MS`, ...: passed through to the pct emulator.
//!
//! The ssh stand-in is described in [`ssh`].

pub mod api;
pub mod error;
pub mod faults;
pub mod http;
pub mod layout;
pub mod perm;
pub mod server;
pub mod ssh;
pub mod tasks;
pub mod tls;

/// `n` random bytes from `/dev/urandom`.
pub fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    use std::io::Read;
    let mut out = [0u8; N];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut out)?;
    Ok(out)
}

/// A random secret in the form Proxmox gives token secrets (a UUID).
pub fn random_secret() -> std::io::Result<String> {
    let b: [u8; 16] = random_bytes()?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_look_like_uuids_and_differ() {
        let a = super::random_secret().unwrap();
        let b = super::random_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
