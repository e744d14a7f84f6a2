//! Validated names and patterns: everything a profile interpolates is one of these,
//! so no configuration value can break out of the rule it is placed in.

use std::fmt;
use std::str::FromStr;

use crate::error::ModelError;

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $check:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The text as written in a profile (before any quoting).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ModelError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $check(s).map(|()| $name(s.to_owned()))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ModelError;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

string_newtype! {
    /// The name of an AppArmor profile, as used in `lxc.apparmor.profile`.
    ///
    /// ```
    /// use phoenix_apparmor::ProfileName;
    /// let name: ProfileName = "lxc-phoenix-v2".parse().unwrap();
    /// assert_eq!(name.to_string(), "lxc-phoenix-v2");
    /// assert!("lxc phoenix".parse::<ProfileName>().is_err());
    /// assert!("../etc/passwd".parse::<ProfileName>().is_err());
    /// ```
    ProfileName, check_profile_name
}

string_newtype! {
    /// The name of an AppArmor variable, without `@{` and `}`.
    ///
    /// ```
    /// use phoenix_apparmor::VariableName;
    /// let v: VariableName = "apparmor_nesting_profiles".parse().unwrap();
    /// assert_eq!(v.reference(), "@{apparmor_nesting_profiles}");
    /// ```
    VariableName, check_variable_name
}

string_newtype! {
    /// A path or path glob (`/dev/nvidia[0-9]*`, `@{PROC}/sys/kernel/**`).
    ///
    /// Rendered quoted when it holds a space, `,` or `#`, so a path can never end the
    /// rule or start a comment.
    ///
    /// ```
    /// use phoenix_apparmor::PathPattern;
    /// let p: PathPattern = "/srv/my data/**".parse().unwrap();
    /// assert_eq!(p.rendered(), "\"/srv/my data/**\"");
    /// assert!("relative/path".parse::<PathPattern>().is_err());
    /// assert!("/x\",\n  capability,".parse::<PathPattern>().is_err());
    /// ```
    PathPattern, check_path_pattern
}

string_newtype! {
    /// A filesystem type or glob of types (`overlay`, `fuse.fuse-overlayfs`, `ext*`).
    FsType, check_fs_type
}

string_newtype! {
    /// A relative include path resolved against the AppArmor base directory
    /// (`abstractions/lxc/container-base`, `tunables/global`).
    IncludePath, check_include_path
}

impl VariableName {
    /// The variable as referenced in a rule: `@{name}`.
    pub fn reference(&self) -> String {
        format!("@{{{}}}", self.0)
    }
}

impl PathPattern {
    /// The pattern as written in a rule, quoted when needed.
    pub fn rendered(&self) -> String {
        let ends_rule = self.0.chars().any(|c| c.is_whitespace() || c == '#')
            || !commas_only_inside_braces(&self.0);
        if ends_rule {
            format!("\"{}\"", self.0)
        } else {
            self.0.clone()
        }
    }
}

/// True when every comma in `s` sits inside `{...}` alternation, where AppArmor reads
/// it as part of the glob rather than as the end of the rule.
fn commas_only_inside_braces(s: &str) -> bool {
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => return false,
            _ => {}
        }
    }
    true
}

fn check_profile_name(s: &str) -> Result<(), ModelError> {
    // What a conf line and a profile file name can hold safely, and what LXC and
    // AppArmor accept: the config's `apparmor_profile` is this same type.
    let ok = !s.is_empty()
        && s.len() <= 200
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '+'));
    if ok {
        Ok(())
    } else {
        Err(ModelError::ProfileName(s.to_owned()))
    }
}

fn check_variable_name(s: &str) -> Result<(), ModelError> {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(ModelError::VariableName(s.to_owned()))
    }
}

fn check_path_pattern(s: &str) -> Result<(), ModelError> {
    let starts = s.starts_with('/') || s.starts_with("@{");
    let clean = !s
        .chars()
        .any(|c| c.is_control() || c == '"' || c == '\\' || c == '\0');
    let balanced = s.matches('{').count() == s.matches('}').count();
    if starts && clean && balanced {
        Ok(())
    } else {
        Err(ModelError::PathPattern(s.to_owned()))
    }
}

fn check_fs_type(s: &str) -> Result<(), ModelError> {
    if !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '*')
        })
    {
        Ok(())
    } else {
        Err(ModelError::FsType(s.to_owned()))
    }
}

fn check_include_path(s: &str) -> Result<(), ModelError> {
    let ok = !s.is_empty()
        && !s.starts_with('/')
        && s.split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ModelError::IncludePath(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_follow_the_lxc_and_apparmor_rules() {
        assert!("lxc-phoenix-v2-ct950".parse::<ProfileName>().is_ok());
        assert!("host_profile:v2+gpu".parse::<ProfileName>().is_ok());
        for bad in ["", "-x", ":ns", "a b", "a/b", "x{y}", &"a".repeat(201)] {
            let err = bad.parse::<ProfileName>().unwrap_err();
            assert!(err.to_string().starts_with("invalid profile name"), "{bad}");
        }
    }

    #[test]
    fn paths_are_quoted_only_when_a_character_would_end_the_rule() {
        let plain: PathPattern = "/sys/fs/cgroup/{,**}".parse().unwrap();
        assert_eq!(plain.rendered(), "/sys/fs/cgroup/{,**}");
        let comma: PathPattern = "/srv/a,b".parse().unwrap();
        assert_eq!(comma.rendered(), "\"/srv/a,b\"");
        let hash: PathPattern = "/srv/#1".parse().unwrap();
        assert_eq!(hash.rendered(), "\"/srv/#1\"");
        let var: PathPattern = "@{PROC}/sys/kernel/**".parse().unwrap();
        assert_eq!(var.rendered(), "@{PROC}/sys/kernel/**");
    }

    #[test]
    fn paths_that_could_inject_rules_are_rejected() {
        for bad in ["x", "/a\"b", "/a\nb", "/a\\b", "/a{b", ""] {
            let err = bad.parse::<PathPattern>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid path pattern `{bad}`: it must start with `/` or `@{{` and hold no control characters, quotes or backslashes"
                )
            );
        }
    }

    #[test]
    fn fs_types_includes_and_variables_are_checked() {
        assert!("fuse.fuse-overlayfs".parse::<FsType>().is_ok());
        assert_eq!(
            "Ext4".parse::<FsType>().unwrap_err().to_string(),
            "invalid filesystem type `Ext4`: use a-z, 0-9, `.`, `_`, `-` and `*`"
        );
        assert!(
            "abstractions/lxc/container-base"
                .parse::<IncludePath>()
                .is_ok()
        );
        for bad in ["/etc/passwd", "../x", "a//b", "a b"] {
            assert_eq!(
                bad.parse::<IncludePath>().unwrap_err().to_string(),
                format!(
                    "invalid include path `{bad}`: use a relative path such as `abstractions/lxc/container-base`"
                )
            );
        }
        assert_eq!(
            "a-b".parse::<VariableName>().unwrap_err().to_string(),
            "invalid variable name `a-b`: use a-z, A-Z, 0-9 and `_`"
        );
    }
}
