//! Pure parsers for what `pct` and `pvesm` print.

pub(crate) mod list;
pub(crate) mod pvesm;
pub(crate) mod snapshots;
pub(crate) mod status;

/// A line of command output this crate cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: expected {expected}, found '{text}'")]
pub struct OutputError {
    /// 1-based line number (the line after the last when output ended early).
    pub line: usize,
    /// The line as printed (empty when output ended early).
    pub text: String,
    /// What should have been there.
    pub expected: &'static str,
}

impl OutputError {
    pub(crate) fn new(line: usize, text: &str, expected: &'static str) -> Self {
        OutputError {
            line,
            text: text.to_owned(),
            expected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_line_expectation_and_text() {
        assert_eq!(
            OutputError::new(3, "garbage", "a list row").to_string(),
            "line 3: expected a list row, found 'garbage'"
        );
    }
}
