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

/// Reads a table pct or pvesm prints: a header of exactly one of `headers` (split on
/// whitespace; releases differ), then one row per
/// non-blank line, each read by `row` with its 1-based line number. No output at all is
/// an empty table (pct prints nothing when there is nothing to list).
pub(crate) fn parse_table<T>(
    stdout: &str,
    headers: &[&[&str]],
    header_expected: &'static str,
    row: impl Fn(usize, &str) -> Result<T, OutputError>,
) -> Result<Vec<T>, OutputError> {
    let mut lines = stdout
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((n, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    if !headers
        .iter()
        .any(|columns| header.split_whitespace().eq(columns.iter().copied()))
    {
        return Err(OutputError::new(n, header, header_expected));
    }
    lines.map(|(n, line)| row(n, line)).collect()
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
