//! The fixed vocabularies of AppArmor rules: capabilities, network domains and types,
//! mount options and profile flags. Each is a closed enum so a typo cannot reach a
//! profile; `FromStr` accepts the exact AppArmor spelling, and so do serde and (with the
//! `schemars` feature) the JSON Schema, so the config files name these words directly.

use std::fmt;
use std::str::FromStr;

use crate::error::ModelError;

/// Declares a closed enum whose variants are written as AppArmor keywords.
macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The AppArmor keyword.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ModelError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(ModelError::UnknownKeyword { kind: $what, value: s.to_owned() }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        #[cfg(feature = "schemars")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let words: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                schemars::json_schema!({
                    "type": "string",
                    "enum": words,
                    "description": concat!("An AppArmor ", $what, " keyword."),
                })
            }
        }
    };
}

keyword_enum! {
    /// A Linux capability as AppArmor names it (`capability sys_admin,`).
    ///
    /// ```
    /// use phoenix_apparmor::Capability;
    /// assert_eq!("mac_admin".parse::<Capability>().unwrap(), Capability::MacAdmin);
    /// assert_eq!(Capability::SysRawio.to_string(), "sys_rawio");
    /// ```
    Capability, "capability" {
        /// `chown`
        Chown => "chown",
        /// `dac_override`
        DacOverride => "dac_override",
        /// `dac_read_search`
        DacReadSearch => "dac_read_search",
        /// `fowner`
        Fowner => "fowner",
        /// `fsetid`
        Fsetid => "fsetid",
        /// `kill`
        Kill => "kill",
        /// `setgid`
        Setgid => "setgid",
        /// `setuid`
        Setuid => "setuid",
        /// `setpcap`
        Setpcap => "setpcap",
        /// `linux_immutable`
        LinuxImmutable => "linux_immutable",
        /// `net_bind_service`
        NetBindService => "net_bind_service",
        /// `net_broadcast`
        NetBroadcast => "net_broadcast",
        /// `net_admin`
        NetAdmin => "net_admin",
        /// `net_raw`
        NetRaw => "net_raw",
        /// `ipc_lock`
        IpcLock => "ipc_lock",
        /// `ipc_owner`
        IpcOwner => "ipc_owner",
        /// `sys_module`: load kernel modules.
        SysModule => "sys_module",
        /// `sys_rawio`: raw I/O ports and devices.
        SysRawio => "sys_rawio",
        /// `sys_chroot`
        SysChroot => "sys_chroot",
        /// `sys_ptrace`
        SysPtrace => "sys_ptrace",
        /// `sys_pacct`
        SysPacct => "sys_pacct",
        /// `sys_admin`
        SysAdmin => "sys_admin",
        /// `sys_boot`
        SysBoot => "sys_boot",
        /// `sys_nice`
        SysNice => "sys_nice",
        /// `sys_resource`
        SysResource => "sys_resource",
        /// `sys_time`
        SysTime => "sys_time",
        /// `sys_tty_config`
        SysTtyConfig => "sys_tty_config",
        /// `mknod`
        Mknod => "mknod",
        /// `lease`
        Lease => "lease",
        /// `audit_write`
        AuditWrite => "audit_write",
        /// `audit_control`
        AuditControl => "audit_control",
        /// `setfcap`
        Setfcap => "setfcap",
        /// `mac_override`: bypass the LSM.
        MacOverride => "mac_override",
        /// `mac_admin`: load and change LSM policy.
        MacAdmin => "mac_admin",
        /// `syslog`
        Syslog => "syslog",
        /// `wake_alarm`
        WakeAlarm => "wake_alarm",
        /// `block_suspend`
        BlockSuspend => "block_suspend",
        /// `audit_read`
        AuditRead => "audit_read",
        /// `perfmon`
        Perfmon => "perfmon",
        /// `bpf`
        Bpf => "bpf",
        /// `checkpoint_restore`
        CheckpointRestore => "checkpoint_restore",
    }
}

keyword_enum! {
    /// A socket address family in a `network` rule.
    NetworkDomain, "network domain" {
        /// IPv4.
        Inet => "inet",
        /// IPv6.
        Inet6 => "inet6",
        /// Unix domain sockets.
        Unix => "unix",
        /// Netlink (routing, audit, uevents).
        Netlink => "netlink",
        /// Raw packet sockets.
        Packet => "packet",
        /// Bluetooth.
        Bluetooth => "bluetooth",
        /// CAN bus.
        Can => "can",
    }
}

keyword_enum! {
    /// A socket type in a `network` rule.
    NetworkType, "network type" {
        /// Connection-oriented (TCP).
        Stream => "stream",
        /// Datagrams (UDP).
        Dgram => "dgram",
        /// Sequenced packets.
        Seqpacket => "seqpacket",
        /// Raw sockets.
        Raw => "raw",
    }
}

keyword_enum! {
    /// A mount flag in a `mount options=(...)` condition.
    MountOption, "mount option" {
        /// Read-only.
        Ro => "ro",
        /// Read-write.
        Rw => "rw",
        /// Ignore set-user-id bits.
        Nosuid => "nosuid",
        /// No device nodes.
        Nodev => "nodev",
        /// No execution.
        Noexec => "noexec",
        /// Change flags of an existing mount.
        Remount => "remount",
        /// Bind mount.
        Bind => "bind",
        /// Recursive bind mount.
        Rbind => "rbind",
        /// Move a mount.
        Move => "move",
        /// Propagation: private (`make-private`).
        Private => "private",
        /// Propagation: recursive private (`make-rprivate`).
        Rprivate => "rprivate",
        /// Propagation: shared (`make-shared`).
        Shared => "shared",
        /// Propagation: recursive shared (`make-rshared`).
        Rshared => "rshared",
        /// Propagation: slave (`make-slave`).
        Slave => "slave",
        /// Propagation: recursive slave (`make-rslave`).
        Rslave => "rslave",
        /// Quiet errors.
        Silent => "silent",
        /// Always update access times.
        Strictatime => "strictatime",
        /// Update access times relative to modification.
        Relatime => "relatime",
        /// Never update access times.
        Noatime => "noatime",
        /// Propagation: slave.
        MakeSlave => "make-slave",
        /// Propagation: recursive slave.
        MakeRslave => "make-rslave",
        /// Propagation: shared.
        MakeShared => "make-shared",
        /// Propagation: recursive shared.
        MakeRshared => "make-rshared",
        /// Propagation: private.
        MakePrivate => "make-private",
        /// Propagation: recursive private.
        MakeRprivate => "make-rprivate",
        /// Propagation: unbindable.
        MakeUnbindable => "make-unbindable",
        /// Propagation: recursive unbindable.
        MakeRunbindable => "make-runbindable",
    }
}

keyword_enum! {
    /// A profile flag (`flags=(attach_disconnected,mediate_deleted)`).
    ProfileFlag, "profile flag" {
        /// Paths outside the namespace's root are attached to it instead of failing;
        /// containers need it because their root is not the host's.
        AttachDisconnected => "attach_disconnected",
        /// Mediate deleted files by their former path.
        MediateDeleted => "mediate_deleted",
        /// Log instead of enforcing.
        Complain => "complain",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_round_trips() {
        for c in Capability::ALL {
            assert_eq!(c.as_str().parse::<Capability>().unwrap(), *c);
        }
        for o in MountOption::ALL {
            assert_eq!(o.as_str().parse::<MountOption>().unwrap(), *o);
        }
        for d in NetworkDomain::ALL {
            assert_eq!(d.as_str().parse::<NetworkDomain>().unwrap(), *d);
        }
        for t in NetworkType::ALL {
            assert_eq!(t.as_str().parse::<NetworkType>().unwrap(), *t);
        }
        for f in ProfileFlag::ALL {
            assert_eq!(f.as_str().parse::<ProfileFlag>().unwrap(), *f);
        }
    }

    #[test]
    fn serde_uses_the_keyword() {
        assert_eq!(
            serde_json::to_string(&MountOption::MakeRprivate).unwrap(),
            "\"make-rprivate\""
        );
        let c: Capability = serde_json::from_str("\"sys_ptrace\"").unwrap();
        assert_eq!(c, Capability::SysPtrace);
        let e = serde_json::from_str::<NetworkType>("\"tcp\"").unwrap_err();
        assert_eq!(e.to_string(), "unknown network type `tcp`");
    }

    #[test]
    fn an_unknown_keyword_names_its_kind() {
        let err = "cap_sys_admin".parse::<Capability>().unwrap_err();
        assert_eq!(err.to_string(), "unknown capability `cap_sys_admin`");
        let err = "RW".parse::<MountOption>().unwrap_err();
        assert_eq!(err.to_string(), "unknown mount option `RW`");
    }
}
