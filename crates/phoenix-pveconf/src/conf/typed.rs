//! Typed reads of the keys phoenix needs. Each reads the section's current text, so it
//! always agrees with [`Section::get`] and the raw `lxc.*` accessors.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::Section;
use super::schema::{key_type, parse_bool};
use crate::props::{Features, MountPoint, NetConfig, PropError, RootFs, Startup};

/// A key whose value does not parse as its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse value of '{key}'")]
pub struct ValueError {
    /// The key (`memory`, `net0`, ...).
    pub key: String,
    /// The value as written.
    pub value: String,
    /// What is wrong.
    #[source]
    pub source: PropError,
}

impl Section {
    fn typed<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, PropError>,
    ) -> Result<Option<T>, ValueError> {
        self.get(key)
            .map(|v| {
                parse(v).map_err(|source| ValueError {
                    key: key.to_owned(),
                    value: v.to_owned(),
                    source,
                })
            })
            .transpose()
    }

    /// A boolean key in any of Proxmox's spellings (`1 0 on off yes no true false`, any case).
    pub fn get_bool(&self, key: &'static str) -> Result<Option<bool>, ValueError> {
        self.typed(key, |v| {
            parse_bool(v).ok_or_else(|| PropError::Invalid {
                key,
                reason: crate::props::PropValueError::NotBoolean(v.to_owned()),
            })
        })
    }

    /// An integer key (`^\d+$`).
    pub fn get_u64(&self, key: &'static str) -> Result<Option<u64>, ValueError> {
        self.typed(key, |v| {
            crate::props::int_in(v, 0, u64::MAX)
                .map_err(|reason| PropError::Invalid { key, reason })
        })
    }

    fn indexed<T: FromStr<Err = PropError>>(
        &self,
        prefix: &str,
    ) -> Result<Vec<(u16, T)>, ValueError> {
        let mut found = BTreeMap::new();
        for (key, _) in self.entries() {
            let Some(index) = key.strip_prefix(prefix) else {
                continue;
            };
            if let Ok(n) = index.parse::<u16>()
                && key_type(key).is_some()
            {
                found.insert(n, key);
            }
        }
        found
            .into_iter()
            .filter_map(|(n, key)| match self.typed(key, str::parse) {
                Ok(Some(value)) => Some(Ok((n, value))),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            })
            .collect()
    }

    /// `unprivileged`: absent means privileged (the schema default; `pct create` writes `1`).
    pub fn unprivileged(&self) -> Result<bool, ValueError> {
        Ok(self.get_bool("unprivileged")?.unwrap_or(false))
    }

    /// `hostname` (Proxmox falls back to `CT<vmid>` when absent).
    pub fn hostname(&self) -> Option<&str> {
        self.get("hostname")
    }

    /// `memory` in MiB (Proxmox falls back to 512 when absent).
    pub fn memory(&self) -> Result<Option<u64>, ValueError> {
        self.get_u64("memory")
    }

    /// `swap` in MiB (Proxmox falls back to 0 at run time when absent).
    pub fn swap(&self) -> Result<Option<u64>, ValueError> {
        self.get_u64("swap")
    }

    /// `cores`.
    pub fn cores(&self) -> Result<Option<u64>, ValueError> {
        self.get_u64("cores")
    }

    /// `net0` .. `net31`, by index.
    pub fn nets(&self) -> Result<Vec<(u16, NetConfig)>, ValueError> {
        self.indexed("net")
    }

    /// `rootfs`.
    pub fn rootfs(&self) -> Result<Option<RootFs>, ValueError> {
        self.typed("rootfs", str::parse)
    }

    /// `mp0` .. `mp255`, by index.
    pub fn mount_points(&self) -> Result<Vec<(u16, MountPoint)>, ValueError> {
        self.indexed("mp")
    }

    /// `features`.
    pub fn features(&self) -> Result<Option<Features>, ValueError> {
        self.typed("features", str::parse)
    }

    /// `startup`.
    pub fn startup(&self) -> Result<Option<Startup>, ValueError> {
        self.typed("startup", str::parse)
    }

    /// `onboot`.
    pub fn onboot(&self) -> Result<Option<bool>, ValueError> {
        self.get_bool("onboot")
    }

    /// `template`: whether the CT is a template.
    pub fn template(&self) -> Result<bool, ValueError> {
        Ok(self.get_bool("template")?.unwrap_or(false))
    }

    /// `lock` (`backup`, `create`, `mounted`, `snapshot`, ...).
    pub fn lock(&self) -> Option<&str> {
        self.get("lock")
    }

    /// `parent`: the snapshot this state derives from.
    pub fn parent(&self) -> Option<&str> {
        self.get("parent")
    }

    /// `snaptime`: when a snapshot was taken (seconds since the epoch).
    pub fn snaptime(&self) -> Result<Option<u64>, ValueError> {
        self.get_u64("snaptime")
    }

    /// `snapstate` (`prepare` or `delete`) while a snapshot operation runs.
    pub fn snapstate(&self) -> Option<&str> {
        self.get("snapstate")
    }

    /// Raw `lxc.idmap` values, in order.
    pub fn idmap_values(&self) -> Vec<&str> {
        self.lxc_values("lxc.idmap")
    }

    /// Raw `lxc.apparmor.profile` (the last one, as LXC reads it).
    pub fn apparmor_profile(&self) -> Option<&str> {
        self.lxc_values("lxc.apparmor.profile").pop()
    }

    /// Raw `lxc.apparmor.allow_nesting` (the last one).
    pub fn apparmor_allow_nesting(&self) -> Option<&str> {
        self.lxc_values("lxc.apparmor.allow_nesting").pop()
    }

    /// Raw `lxc.mount.entry` values, in order.
    pub fn mount_entries(&self) -> Vec<&str> {
        self.lxc_values("lxc.mount.entry")
    }

    /// Raw `lxc.cgroup2.devices.allow` values, in order.
    pub fn cgroup2_devices_allow(&self) -> Vec<&str> {
        self.lxc_values("lxc.cgroup2.devices.allow")
    }
}

#[cfg(test)]
mod tests {
    use crate::conf::CtConf;
    use crate::props::{Ipv4Config, MountKind};

    #[test]
    fn typed_reads() {
        let conf = CtConf::parse(
            "unprivileged: Yes\nhostname: web\nmemory: 0512\nswap: 0\ncores: 2\nonboot: off\n\
             net1: name=eth1,bridge=vmbr1,ip=dhcp\nnet0: name=eth0,bridge=vmbr0\nnet32: name=x\n\
             rootfs: local-lvm:vm-100-disk-0,size=8G\nmp10: /srv/b,mp=/b\nmp2: /dev/sdb,mp=/c\n\
             features: nesting=1\nstartup: order=3\nlock: backup\ntemplate: 1\nparent: s1\n\
             lxc.idmap: u 0 100000 65536\nlxc.apparmor.profile: generated\n\
             lxc.apparmor.allow_nesting: 1\nlxc.mount.entry: /a b none bind 0 0\n\
             lxc.cgroup2.devices.allow: c 10:200 rwm\n",
        )
        .conf;
        assert!(conf.unprivileged().unwrap());
        assert_eq!(conf.hostname(), Some("web"));
        assert_eq!(conf.memory().unwrap(), Some(512));
        assert_eq!(conf.swap().unwrap(), Some(0));
        assert_eq!(conf.cores().unwrap(), Some(2));
        assert_eq!(conf.onboot().unwrap(), Some(false));
        let nets = conf.nets().unwrap();
        assert_eq!(nets.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(nets[1].1.ip, Some(Ipv4Config::Dhcp));
        assert_eq!(
            conf.rootfs().unwrap().unwrap().volume,
            "local-lvm:vm-100-disk-0"
        );
        let mps = conf.mount_points().unwrap();
        assert_eq!(
            mps.iter().map(|(n, m)| (*n, m.kind())).collect::<Vec<_>>(),
            [(2, MountKind::Device), (10, MountKind::Bind)]
        );
        assert_eq!(conf.features().unwrap().unwrap().nesting, Some(true));
        assert_eq!(conf.startup().unwrap().unwrap().order, Some(3));
        assert_eq!(conf.lock(), Some("backup"));
        assert!(conf.template().unwrap());
        assert_eq!(conf.parent(), Some("s1"));
        assert_eq!(conf.idmap_values(), ["u 0 100000 65536"]);
        assert_eq!(conf.apparmor_profile(), Some("generated"));
        assert_eq!(conf.apparmor_allow_nesting(), Some("1"));
        assert_eq!(conf.mount_entries(), ["/a b none bind 0 0"]);
        assert_eq!(conf.cgroup2_devices_allow(), ["c 10:200 rwm"]);
    }

    #[test]
    fn absent_keys() {
        let conf = CtConf::new();
        assert!(!conf.unprivileged().unwrap());
        assert!(!conf.template().unwrap());
        assert_eq!(conf.memory().unwrap(), None);
        assert!(conf.nets().unwrap().is_empty());
        assert_eq!(conf.apparmor_profile(), None);
    }

    #[test]
    fn bad_values_name_the_key() {
        let conf = CtConf::parse("memory: lots\nunprivileged: maybe\nnet0: bridge=vmbr0\n").conf;
        let err = conf.memory().unwrap_err();
        assert_eq!(err.to_string(), "unable to parse value of 'memory'");
        assert_eq!(
            std::error::Error::source(&err).unwrap().to_string(),
            "memory: type check ('integer') failed - got 'lots'"
        );
        assert_eq!(
            conf.unprivileged().unwrap_err().source.to_string(),
            "unprivileged: type check ('boolean') failed - got 'maybe'"
        );
        let err = conf.nets().unwrap_err();
        assert_eq!(
            (err.key.as_str(), err.value.as_str()),
            ("net0", "bridge=vmbr0")
        );
    }
}
