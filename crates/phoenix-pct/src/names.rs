//! Checked names and enums that pct takes as arguments.

use std::fmt;
use std::str::FromStr;

/// Root's password for `pct create --password`: at least 5 characters, as pct
/// requires. Its `Debug` never shows it, and [`Invocation`](crate::Invocation)
/// passes it as a secret argument, so it stays out of logs and transcripts.
///
/// ```
/// use phoenix_pct::Password;
/// let pw: Password = "correct horse".parse().unwrap();
/// assert_eq!(pw.expose(), "correct horse");
/// assert_eq!(format!("{pw:?}"), "Password(<secret>)");
/// assert!("abcd".parse::<Password>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// A password pct would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password is too short ({0} characters, pct needs at least 5)")]
pub struct PasswordError(pub usize);

impl Password {
    /// The password itself, to pass to pct.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<secret>)")
    }
}

impl FromStr for Password {
    type Err = PasswordError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = s.chars().count();
        if n < 5 {
            return Err(PasswordError(n));
        }
        Ok(Password(s.to_owned()))
    }
}

/// A value outside one of pct's enums.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} '{value}' - expected one of: {allowed}")]
pub struct EnumError {
    /// Which option.
    pub what: &'static str,
    /// The refused value.
    pub value: String,
    /// The accepted values, comma-separated.
    pub allowed: String,
}

macro_rules! pct_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            const ALL: &'static [($name, &'static str)] = &[$(($name::$variant, $text)),+];

            /// The word pct takes.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = EnumError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .find(|(_, text)| *text == s)
                    .map(|(v, _)| *v)
                    .ok_or_else(|| EnumError {
                        what: $what,
                        value: s.to_owned(),
                        allowed: Self::ALL.iter().map(|(_, t)| *t).collect::<Vec<_>>().join(", "),
                    })
            }
        }
    };
}

pct_enum!(
    /// `--ostype`: which distribution's setup pct applies.
    OsType, "ostype", {
        /// Debian.
        Debian => "debian",
        /// Devuan.
        Devuan => "devuan",
        /// Ubuntu.
        Ubuntu => "ubuntu",
        /// CentOS.
        Centos => "centos",
        /// Fedora.
        Fedora => "fedora",
        /// openSUSE.
        Opensuse => "opensuse",
        /// Arch Linux.
        Archlinux => "archlinux",
        /// Alpine.
        Alpine => "alpine",
        /// Gentoo.
        Gentoo => "gentoo",
        /// NixOS.
        Nixos => "nixos",
        /// No distribution setup at all.
        Unmanaged => "unmanaged",
    }
);

pct_enum!(
    /// `--arch`: the container's architecture.
    Arch, "arch", {
        /// x86-64.
        Amd64 => "amd64",
        /// x86.
        I386 => "i386",
        /// 64-bit ARM.
        Arm64 => "arm64",
        /// 32-bit ARM, hard float.
        Armhf => "armhf",
        /// 32-bit RISC-V.
        Riscv32 => "riscv32",
        /// 64-bit RISC-V.
        Riscv64 => "riscv64",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(
            "abc".parse::<Password>().unwrap_err().to_string(),
            "password is too short (3 characters, pct needs at least 5)"
        );
        assert!("abcde".parse::<Password>().is_ok());
    }

    #[test]
    fn os_types_and_arches_round_trip() {
        for (v, text) in OsType::ALL {
            assert_eq!(text.parse::<OsType>().unwrap(), *v);
            assert_eq!(v.to_string(), *text);
        }
        for (v, text) in Arch::ALL {
            assert_eq!(text.parse::<Arch>().unwrap(), *v);
        }
        assert_eq!(
            "x86".parse::<Arch>().unwrap_err().to_string(),
            "invalid arch 'x86' - expected one of: amd64, i386, arm64, armhf, riscv32, riscv64"
        );
    }
}
