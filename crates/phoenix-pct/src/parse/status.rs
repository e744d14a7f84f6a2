//! `pct status <vmid>`: exactly `status: running` or `status: stopped`
//! (with `--verbose`, that line among other sorted `k: v` lines).

use super::OutputError;
use crate::state::CtStatus;

const EXPECTED: &str = "'status: running' or 'status: stopped'";

/// Reads the power state from `pct status` output.
pub(crate) fn parse_status(stdout: &str) -> Result<CtStatus, OutputError> {
    let mut count = 0;
    for (i, line) in stdout.lines().enumerate() {
        count = i + 1;
        if let Some(word) = line.strip_prefix("status:") {
            return word
                .trim()
                .parse()
                .map_err(|_| OutputError::new(i + 1, line, EXPECTED));
        }
    }
    Err(OutputError::new(count + 1, "", EXPECTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_states() {
        assert_eq!(parse_status("status: running\n"), Ok(CtStatus::Running));
        assert_eq!(parse_status("status: stopped\n"), Ok(CtStatus::Stopped));
    }

    #[test]
    fn finds_the_line_in_verbose_output() {
        let out = "cpus: 2\nha: managed\nname: web\nstatus: running\nuptime: 5\n";
        assert_eq!(parse_status(out), Ok(CtStatus::Running));
    }

    #[test]
    fn refuses_other_words_and_empty_output() {
        assert_eq!(
            parse_status("status: paused\n").unwrap_err().to_string(),
            "line 1: expected 'status: running' or 'status: stopped', found 'status: paused'"
        );
        assert_eq!(parse_status("").unwrap_err().line, 1);
    }
}
