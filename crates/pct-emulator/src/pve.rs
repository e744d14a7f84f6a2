//! Which Proxmox VE release the emulator behaves as: `PCT_EMU_PVE_VERSION=8|9`
//! (default 9), and `pveversion`, which answers as that release's does.
//!
//! Where PVE 8 and 9 differ the emulator follows the chosen one, so phoenix's tests can
//! pin both outputs. The package versions are the ones a PVE 8.4 and a PVE 9.0 node
//! carry (`lxc-pve` 6.0.0-1 on 8.4, 6.0.5-1 on 9.0).
//!
//! ```text
//! $ PCT_EMU_PVE_VERSION=8 pveversion
//! pve-manager/8.4.1/2a5fa54a8503f96d (running kernel: 6.8.12-9-pve)
//! $ pveversion -v | grep lxc-pve
//! lxc-pve: 6.0.5-1
//! ```

/// The environment variable that picks the release.
pub const VERSION_ENV: &str = "PCT_EMU_PVE_VERSION";

/// A Proxmox VE major release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PveVersion {
    /// PVE 8 (8.4, Debian 12, pve-container 5.x, libpve-storage-perl 8.x).
    V8,
    /// PVE 9 (9.0, Debian 13, pve-container 6.x, libpve-storage-perl 9.x).
    V9,
}

impl PveVersion {
    /// `PCT_EMU_PVE_VERSION`: `8` or `9`; unset, empty or anything else is 9.
    pub fn from_env() -> Self {
        Self::parse(std::env::var(VERSION_ENV).ok().as_deref())
    }

    /// Reads the variable's value (`8` or `8.x` is 8, everything else 9).
    ///
    /// ```
    /// use pct_emulator::pve::PveVersion;
    /// assert_eq!(PveVersion::parse(Some("8")), PveVersion::V8);
    /// assert_eq!(PveVersion::parse(Some("8.4")), PveVersion::V8);
    /// assert_eq!(PveVersion::parse(None), PveVersion::V9);
    /// ```
    pub fn parse(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some(v) if v == "8" || v.starts_with("8.") => Self::V8,
            _ => Self::V9,
        }
    }

    fn kernel(self) -> &'static str {
        match self {
            Self::V8 => "6.8.12-9-pve",
            Self::V9 => "6.14.11-2-pve",
        }
    }

    fn manager(self) -> (&'static str, &'static str) {
        match self {
            Self::V8 => ("8.4.1", "2a5fa54a8503f96d"),
            Self::V9 => ("9.0.10", "deb1ca707ec72a89"),
        }
    }

    /// What `pveversion` prints.
    pub fn short(self) -> String {
        let (v, hash) = self.manager();
        format!(
            "pve-manager/{v}/{hash} (running kernel: {})\n",
            self.kernel()
        )
    }

    /// What `pveversion -v` prints: one `package: version` line per package.
    pub fn verbose(self) -> String {
        let (v, hash) = self.manager();
        let packages: &[(&str, &str)] = match self {
            Self::V8 => &[
                ("proxmox-ve", "8.4.0"),
                ("proxmox-kernel-helper", "8.1.1"),
                ("libpve-common-perl", "8.3.1"),
                ("libpve-guest-common-perl", "5.2.2"),
                ("libpve-storage-perl", "8.3.6"),
                ("lxc-pve", "6.0.0-1"),
                ("lxcfs", "6.0.0-pve2"),
                ("pve-cluster", "8.1.0"),
                ("pve-container", "5.2.6"),
            ],
            Self::V9 => &[
                ("proxmox-ve", "9.0.0"),
                ("proxmox-kernel-helper", "9.0.4"),
                ("libpve-common-perl", "9.0.11"),
                ("libpve-guest-common-perl", "6.0.2"),
                ("libpve-storage-perl", "9.0.14"),
                ("lxc-pve", "6.0.5-1"),
                ("lxcfs", "6.0.4-pve1"),
                ("pve-cluster", "9.0.6"),
                ("pve-container", "6.0.13"),
            ],
        };
        let mut out = String::new();
        for (i, (name, version)) in packages.iter().enumerate() {
            if i == 0 {
                out.push_str(&format!(
                    "{name}: {version} (running kernel: {})\n",
                    self.kernel()
                ));
                out.push_str(&format!("pve-manager: {v} (running version: {v}/{hash})\n"));
            } else {
                out.push_str(&format!("{name}: {version}\n"));
            }
        }
        out
    }
}

/// Runs `pveversion` with `argv` (without the program name) and returns the exit code.
pub fn main(argv: &[String]) -> i32 {
    let _logged = crate::pct::hooks_log(argv, "pveversion");
    let version = PveVersion::from_env();
    match argv {
        [] => crate::out::print(&version.short()),
        [v] if v == "-v" || v == "--verbose" => crate::out::print(&version.verbose()),
        _ => {
            eprintln!("Usage: pveversion [-v]");
            255
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_releases_name_their_packages() {
        assert!(
            PveVersion::V9
                .short()
                .starts_with("pve-manager/9.0.10/deb1ca707ec72a89 (running kernel: ")
        );
        assert!(PveVersion::V8.short().starts_with("pve-manager/8.4.1/"));
        let v9 = PveVersion::V9.verbose();
        assert!(
            v9.starts_with(
                "proxmox-ve: 9.0.0 (running kernel: 6.14.11-2-pve)\npve-manager: 9.0.10"
            )
        );
        assert!(v9.contains("\nlxc-pve: 6.0.5-1\n"));
        assert!(v9.contains("\nlibpve-storage-perl: 9.0.14\n"));
        let v8 = PveVersion::V8.verbose();
        assert!(v8.contains("\nlxc-pve: 6.0.0-1\n"));
        assert!(v8.contains("\nlibpve-storage-perl: 8.3.6\n"));
        assert_eq!(PveVersion::parse(Some("9")), PveVersion::V9);
        assert_eq!(PveVersion::parse(Some("")), PveVersion::V9);
    }
}
