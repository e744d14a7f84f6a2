//! Errors of the profile model: a name, path or keyword AppArmor would not accept.

/// A value that cannot appear in an AppArmor profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A keyword outside its closed vocabulary.
    #[error("unknown {kind} `{value}`")]
    UnknownKeyword {
        /// What was being parsed ("capability", "mount option", ...).
        kind: &'static str,
        /// The rejected text.
        value: String,
    },
    /// A profile name with characters AppArmor or LXC would misread.
    #[error(
        "invalid profile name `{0}`: use 1 to 64 of a-z, A-Z, 0-9, `.`, `_`, `-`, starting with a letter or digit"
    )]
    ProfileName(String),
    /// A variable name outside `[A-Za-z0-9_]+`.
    #[error("invalid variable name `{0}`: use a-z, A-Z, 0-9 and `_`")]
    VariableName(String),
    /// A path pattern that does not start at `/` or a variable, or holds characters
    /// that would end the rule early.
    #[error(
        "invalid path pattern `{0}`: it must start with `/` or `@{{` and hold no control characters, quotes or backslashes"
    )]
    PathPattern(String),
    /// A filesystem type outside `[a-z0-9._*-]+`.
    #[error("invalid filesystem type `{0}`: use a-z, 0-9, `.`, `_`, `-` and `*`")]
    FsType(String),
    /// An include path that is absolute, climbs with `..` or holds odd characters.
    #[error(
        "invalid include path `{0}`: use a relative path such as `abstractions/lxc/container-base`"
    )]
    IncludePath(String),
    /// A file permission string with a letter outside `rwaklmx`, or none at all.
    #[error("invalid file permissions `{0}`: use one or more of r, w, a, k, l, m, x")]
    FilePerms(String),
    /// A rule that AppArmor would reject or that is too broad to accept from config.
    #[error("invalid rule: {0}")]
    Rule(&'static str),
}
