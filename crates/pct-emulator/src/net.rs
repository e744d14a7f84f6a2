//! Host bridges for netN. `pct start` never creates one (Proxmox's `lxcnetaddbr` hook
//! dies with `bridge '<name>' does not exist`); the host's network setup does, here
//! `pct-emulator-net bridge add <name>` ([`ensure_bridge`]), or `pct-emulator-net up`
//! for a bridge with a filtered uplink ([`crate::uplink`]).

use std::process::Command;

/// A bridge could not be created or removed.
#[derive(Debug, thiserror::Error)]
#[error("bridge '{bridge}': {argv} failed: {stderr}")]
pub struct BridgeError {
    /// The bridge name.
    pub bridge: String,
    /// The failing argv.
    pub argv: String,
    /// Its stderr.
    pub stderr: String,
}

/// The argvs that create bridge `name` and bring it up.
pub fn create_argvs(name: &str) -> [Vec<String>; 2] {
    [
        vec![
            "ip".into(),
            "link".into(),
            "add".into(),
            "name".into(),
            name.into(),
            "type".into(),
            "bridge".into(),
        ],
        vec![
            "ip".into(),
            "link".into(),
            "set".into(),
            name.into(),
            "up".into(),
        ],
    ]
}

/// True when a network device of this name exists on the host.
pub fn exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

/// Creates bridge `name` (no uplink) unless it exists.
pub fn ensure_bridge(name: &str) -> Result<(), BridgeError> {
    if exists(name) {
        return Ok(());
    }
    for argv in create_argvs(name) {
        let out = Command::new(&argv[0]).args(&argv[1..]).output();
        let (ok, stderr) = match out {
            Ok(o) => (
                o.status.success(),
                String::from_utf8_lossy(&o.stderr).trim().to_owned(),
            ),
            Err(e) => (false, e.to_string()),
        };
        if !ok && !exists(name) {
            return Err(BridgeError {
                bridge: name.into(),
                argv: argv.join(" "),
                stderr,
            });
        }
    }
    Ok(())
}

/// Removes bridge `name` if it exists (`ip link del <name>`).
pub fn remove_bridge(name: &str) -> Result<(), BridgeError> {
    if !exists(name) {
        return Ok(());
    }
    let argv = ["ip", "link", "del", name];
    let out = Command::new(argv[0]).args(&argv[1..]).output();
    match out {
        Ok(o) if o.status.success() || !exists(name) => Ok(()),
        Ok(o) => Err(BridgeError {
            bridge: name.into(),
            argv: argv.join(" "),
            stderr: String::from_utf8_lossy(&o.stderr).trim().to_owned(),
        }),
        Err(e) => Err(BridgeError {
            bridge: name.into(),
            argv: argv.join(" "),
            stderr: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_argv_and_error() {
        let [add, up] = create_argvs("vmbr9");
        assert_eq!(add.join(" "), "ip link add name vmbr9 type bridge");
        assert_eq!(up.join(" "), "ip link set vmbr9 up");
        let e = BridgeError {
            bridge: "b".into(),
            argv: "ip link".into(),
            stderr: "denied".into(),
        };
        assert_eq!(e.to_string(), "bridge 'b': ip link failed: denied");
    }
}
