//! The two validation passes: the raw JSON against the generated schema, then
//! semantic checks on the typed model.

pub(crate) mod schema_pass;
pub(crate) mod semantic;
pub(crate) mod strings;

use crate::diagnostic::Severity;
use crate::locate::Target;
use crate::schema::ConfigFile;

/// A problem before it is placed at a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub severity: Severity,
    pub file: ConfigFile,
    pub pointer: String,
    pub target: Target,
    pub message: String,
    /// The schema pass found something that can be cut out (an unknown field, an
    /// object of the wrong kind in a map) without changing the meaning of the rest,
    /// so the semantic pass can still run on what remains.
    pub removable: bool,
}

impl Finding {
    pub fn error(file: ConfigFile, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Error,
            file,
            pointer: pointer.into(),
            target: Target::Value,
            message: message.into(),
            removable: false,
        }
    }

    pub fn warning(
        file: ConfigFile,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(file, pointer, message)
        }
    }

    pub fn removable(mut self) -> Self {
        self.removable = true;
        self
    }

    pub fn at_key(mut self) -> Self {
        self.target = Target::Key;
        self
    }
}

/// The closest candidate to `name`, when it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, _)| *d <= (name.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let fields = ["memory_mb", "name", "cores"];
        assert_eq!(suggest("memroy_mb", fields), Some("memory_mb"));
        assert_eq!(suggest("nmae", fields), Some("name"));
        assert_eq!(suggest("gw", fields), None);
        assert_eq!(
            suggest(
                "hypervisor_health_.check",
                ["system_validation", "hypervisor_health_check"]
            ),
            Some("hypervisor_health_check")
        );
    }
}
