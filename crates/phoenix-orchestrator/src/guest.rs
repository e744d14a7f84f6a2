//! Guests: the nodes of a fleet's DAG. A container now; a VM as soon as VMs converge.

use std::fmt;

use phoenix_pveconf::Vmid;
use serde::{Deserialize, Serialize};

/// A guest of the fleet: its kind and id. Proxmox ids are one space across containers
/// and VMs, so the id alone identifies a guest; the kind says which config file it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "kebab-case")]
pub enum GuestId {
    /// An LXC container (`phoenix_lxc_configs.json`).
    Ct(Vmid),
    /// A QEMU VM (`phoenix_vm_configs.json`).
    Vm(Vmid),
}

impl GuestId {
    /// The Proxmox id.
    pub fn vmid(self) -> Vmid {
        match self {
            GuestId::Ct(v) | GuestId::Vm(v) => v,
        }
    }

    /// The id as a number.
    pub fn id(self) -> u32 {
        self.vmid().get()
    }

    /// True for a container.
    pub fn is_ct(self) -> bool {
        matches!(self, GuestId::Ct(_))
    }
}

impl fmt::Display for GuestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestId::Ct(v) => write!(f, "CT {v}"),
            GuestId::Vm(v) => write!(f, "VM {v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guests_print_and_serialize_with_their_kind() {
        let ct = GuestId::Ct(Vmid::new(101).unwrap());
        let vm = GuestId::Vm(Vmid::new(8000).unwrap());
        assert_eq!(ct.to_string(), "CT 101");
        assert_eq!(vm.to_string(), "VM 8000");
        assert_eq!(
            serde_json::to_string(&ct).unwrap(),
            r#"{"kind":"ct","id":101}"#
        );
        let back: GuestId = serde_json::from_str(r#"{"kind":"vm","id":8000}"#).unwrap();
        assert_eq!(back, vm);
        assert!(ct < vm || ct.id() < vm.id());
    }
}
