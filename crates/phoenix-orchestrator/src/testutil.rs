//! Fleets built from JSON snippets for unit tests.

use phoenix_config::Fleet;
use serde_json::Value;

/// A fleet from the lxc and hypervisor JSON (no VM file).
pub fn fleet(lxc: &str, hypervisor: &str) -> Fleet {
    Fleet {
        lxc: serde_json::from_str(lxc).unwrap(),
        hypervisor: serde_json::from_str(hypervisor).unwrap(),
        vm: None,
    }
}

/// A container's JSON: the required fields, overridden and extended by `extra` (JSON
/// object members, without the braces).
pub fn ct(extra: &str) -> String {
    let mut base: Value = serde_json::from_str(
        r#"{"name": "a", "memory_mb": 64, "cores": 1, "storage_pool": "local-zfs",
            "storage_size_gb": 1, "network_config": {"name": "eth0", "bridge": "vmbr0",
            "ip": "10.0.0.5/24"}}"#,
    )
    .unwrap();
    let extra: Value = serde_json::from_str(&format!("{{{extra}}}")).unwrap();
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base.to_string()
}
