//! Writing a command's stdout the way Perl does: buffered, in one write at the end.
//!
//! `println!` writes line by line and panics ("failed printing to stdout: Broken pipe",
//! exit 101) when the reader is gone, as in `pct listsnapshot 100 | grep -q s1` under
//! `pipefail`, where grep exits after the first matching line. Proxmox's Perl CLI buffers
//! STDOUT and flushes it once, so a small output is written before the reader can go away;
//! a reader that is gone before the write kills Perl with SIGPIPE, which the shell reports
//! as 141. The emulator writes once too, and exits 141 without a panic when the pipe is
//! closed.

use std::cell::RefCell;
use std::io::Write;

thread_local! {
    /// What the running command printed so far (one command per process; per thread so
    /// in-process tests do not share it).
    static BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Adds one line to the command's stdout (written by [`flush`] at the end).
pub fn line(text: impl AsRef<str>) {
    BUFFER.with(|b| {
        let mut b = b.borrow_mut();
        b.push_str(text.as_ref());
        b.push('\n');
    });
}

/// Writes what [`line()`] collected, in one go, and returns `code`, or 141 when the
/// reader is gone and `code` was 0.
pub fn flush(code: i32) -> i32 {
    let text = BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut()));
    if text.is_empty() {
        return code;
    }
    match print(&text) {
        0 => code,
        failed if code == 0 => failed,
        _ => code,
    }
}

/// The exit code a shell reports for a process killed by SIGPIPE (128 + 13).
pub const SIGPIPE_EXIT: i32 = 141;

/// Writes `text` to stdout in one go; returns the exit code to end with on success (0)
/// or a closed pipe (141).
pub fn print(text: &str) -> i32 {
    match write_all(&mut std::io::stdout().lock(), text) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => SIGPIPE_EXIT,
        Err(e) => {
            eprintln!("unable to write to STDOUT - {e}");
            255
        }
    }
}

fn write_all(w: &mut impl Write, text: &str) -> std::io::Result<()> {
    w.write_all(text.as_bytes())?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_collect_until_flushed() {
        line("a");
        line(format!("b{}", 1));
        assert_eq!(BUFFER.with(|b| b.borrow().clone()), "a\nb1\n");
        BUFFER.with(|b| b.borrow_mut().clear());
        assert_eq!(flush(7), 7);
    }

    #[test]
    fn a_closed_pipe_is_an_error_not_a_panic() {
        let e = write_all(&mut Closed, "x\n").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
        let mut buf = Vec::new();
        write_all(&mut buf, "a\nb\n").unwrap();
        assert_eq!(buf, b"a\nb\n");
    }
}
