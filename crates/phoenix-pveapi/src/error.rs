//! [`ApiError`]: everything a PVE API call can fail with, and which failures are retried.

use std::collections::BTreeMap;
use std::fmt;

use camino::Utf8PathBuf;

use crate::Fingerprint;
use crate::transport::Method;

/// How many task log lines an [`ApiError::Task`]'s `Display` shows (the error holds them all).
pub const TASK_LOG_TAIL: usize = 10;

/// Texts that mark a Proxmox lock conflict: a config lock that timed out
/// (`can't lock file '/run/lock/lxc/pve-config-101.conf' - got timeout`) or a guest
/// locked by another operation (`CT is locked (clone)`). Another attempt a little later
/// usually succeeds, so these are retried.
pub const LOCK_MESSAGES: &[&str] = &["got timeout", "is locked", "can't lock file"];

/// Proxmox's answer to a `PUT .../config` whose `digest` no longer matches the file. The
/// same request gets the same answer every time, so it is not retried: the caller reads
/// the config again.
pub const DIGEST_MISMATCH: &str = "detected modified configuration";

/// Whether a message (an HTTP error or a task's exit status) is a lock conflict.
///
/// ```
/// use phoenix_pveapi::is_lock_message;
/// assert!(is_lock_message("CT is locked (clone)"));
/// assert!(is_lock_message("can't lock file '/run/lock/lxc/pve-config-101.conf' - got timeout"));
/// assert!(!is_lock_message("CT 101 already exists"));
/// ```
pub fn is_lock_message(message: &str) -> bool {
    LOCK_MESSAGES.iter().any(|m| message.contains(m))
}

/// A PVE API call that failed. No variant ever holds the token secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The TLS handshake failed or TLS could not be set up.
    #[error("TLS with {url} failed: {problem}")]
    Tls {
        /// The API's base URL.
        url: String,
        /// What went wrong.
        problem: TlsProblem,
    },
    /// No connection, a reset, or a timeout (retried).
    #[error("cannot reach {url}: {message}")]
    Connect {
        /// The URL of the request.
        url: String,
        /// The transport error.
        message: String,
    },
    /// HTTP 401: no token, a wrong token, or a wrong secret.
    #[error(
        "authentication failure on {path}: the API token was refused (check the token id and its secret)"
    )]
    Unauthorized {
        /// The request's path.
        path: String,
    },
    /// HTTP 403: the token lacks a privilege, or the parameter is root@pam only.
    #[error("permission denied on {path}: {message}")]
    Forbidden {
        /// The request's path.
        path: String,
        /// Proxmox's message (`Permission check failed (...)`).
        message: String,
    },
    /// Any other HTTP error status.
    #[error("{method} {path} failed with HTTP {status}: {message}")]
    Http {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// Proxmox's message (the body's `message`, else the reason phrase).
        message: String,
    },
    /// HTTP 400 with per-parameter errors (`Parameter verification failed.`).
    #[error("parameter verification failed on {path}: {}", params_text(errors))]
    Params {
        /// The request's path.
        path: String,
        /// Parameter name -> Proxmox's complaint.
        errors: BTreeMap<String, String>,
    },
    /// A task ended with an error exit status.
    #[error(
        "task {upid} on node {node} failed: {}{}",
        clean(exitstatus),
        log_tail(log)
    )]
    Task {
        /// The node the task ran on.
        node: String,
        /// The task's UPID.
        upid: String,
        /// The task's exit status (the error text).
        exitstatus: String,
        /// The whole task log.
        log: Vec<String>,
    },
    /// A task still running when [`Client::wait_task`](crate::Client::wait_task) gave up.
    #[error("task {upid} on node {node} still runs after {}s; phoenix stopped waiting (the task goes on: see the node's task log)", waited.as_secs())]
    TaskTimeout {
        /// The node the task runs on.
        node: String,
        /// The task's UPID.
        upid: String,
        /// How long phoenix waited.
        waited: std::time::Duration,
    },
    /// A retryable failure that did not go away.
    #[error("gave up after {attempts} attempts: {last}")]
    Retries {
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's failure.
        last: Box<ApiError>,
    },
    /// An answer that is not what the API documents.
    #[error("cannot read the answer to {path}: {reason}")]
    Decode {
        /// The request's path.
        path: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The token secret could not be had.
    #[error("API token secret from {origin}: {problem}")]
    Secret {
        /// `file /path` or `environment variable NAME`.
        origin: String,
        /// What is wrong (never the secret itself).
        problem: SecretProblem,
    },
    /// The API URL is not `https://host[:port]`.
    #[error("invalid PVE API URL '{url}': {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why TLS failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsProblem {
    /// The server's leaf certificate is not the pinned one.
    #[error(
        "the server's certificate has fingerprint {presented}, but {expected} is pinned (a different server, or its certificate was renewed)"
    )]
    FingerprintMismatch {
        /// The pinned fingerprint.
        expected: Fingerprint,
        /// The fingerprint of the certificate the server presented.
        presented: Fingerprint,
    },
    /// The CA file could not be used.
    #[error("cannot use CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: Utf8PathBuf,
        /// Why.
        reason: String,
    },
    /// Any other handshake failure (an unknown issuer, a wrong host name, ...).
    #[error("{0}")]
    Handshake(String),
}

/// Why a token secret could not be had. Never holds the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretProblem {
    /// The file does not exist.
    #[error("the file does not exist")]
    Missing,
    /// The file could not be read.
    #[error("cannot read it: {0}")]
    Unreadable(String),
    /// The environment variable is not set.
    #[error("the variable is not set")]
    Unset,
    /// Nothing but white space.
    #[error("it is empty")]
    Empty,
    /// A character a header cannot carry (white space inside, a control character,
    /// non-ASCII): the secret is a UUID.
    #[error("it holds white space, control or non-ASCII characters (a PVE token secret is a UUID)")]
    BadCharacters,
    /// A token file that is not `USER@REALM!TOKENID=SECRET`.
    #[error("expected USER@REALM!TOKENID=SECRET with a valid token id")]
    NotAToken,
}

impl ApiError {
    /// Whether another attempt may succeed: a connection failure, HTTP 5xx (except a
    /// config digest mismatch) and a task that failed on a lock. Never 400, 401 or 403.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Connect { .. } => true,
            ApiError::Http {
                status, message, ..
            } => *status >= 500 && !message.contains(DIGEST_MISMATCH),
            ApiError::Task { exitstatus, .. } => is_lock_message(exitstatus),
            _ => false,
        }
    }

    /// The failure behind [`ApiError::Retries`] (the error itself otherwise).
    pub fn innermost(&self) -> &ApiError {
        match self {
            ApiError::Retries { last, .. } => last.innermost(),
            other => other,
        }
    }

    /// Whether this is Proxmox's answer to a stale `digest` on a config update.
    pub fn is_digest_mismatch(&self) -> bool {
        matches!(self.innermost(), ApiError::Http { message, .. } if message.contains(DIGEST_MISMATCH))
    }
}

/// Control characters from the server shown escaped, so a log line cannot move the cursor.
pub(crate) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn params_text(errors: &BTreeMap<String, String>) -> String {
    errors
        .iter()
        .map(|(k, v)| format!("{}: {}", clean(k), clean(v.trim_end())))
        .collect::<Vec<_>>()
        .join("; ")
}

struct LogTail<'a>(&'a [String]);

impl fmt::Display for LogTail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self.0;
        if lines.is_empty() {
            return f.write_str(" (the task log is empty)");
        }
        let start = lines.len().saturating_sub(TASK_LOG_TAIL);
        if start > 0 {
            write!(
                f,
                "\ntask log (last {TASK_LOG_TAIL} of {} lines):",
                lines.len()
            )?;
        } else {
            f.write_str("\ntask log:")?;
        }
        for line in &lines[start..] {
            write!(f, "\n  {}", clean(line))?;
        }
        Ok(())
    }
}

fn log_tail(log: &[String]) -> LogTail<'_> {
    LogTail(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_rules() {
        let http = |status, message: &str| ApiError::Http {
            method: Method::Put,
            path: "/x".into(),
            status,
            message: message.into(),
        };
        assert!(http(500, "can't lock file 'x' - got timeout").is_retryable());
        assert!(http(503, "service unavailable").is_retryable());
        assert!(
            !http(
                500,
                "detected modified configuration - file changed by other user? Try again."
            )
            .is_retryable()
        );
        assert!(!http(404, "no such file").is_retryable());
        assert!(!http(400, "is locked").is_retryable());
        let forbidden = ApiError::Forbidden {
            path: "/x".into(),
            message: "Permission check failed".into(),
        };
        assert!(!forbidden.is_retryable());
        let task = |exit: &str| ApiError::Task {
            node: "pve1".into(),
            upid: "UPID:x".into(),
            exitstatus: exit.into(),
            log: vec![],
        };
        assert!(task("CT is locked (clone)").is_retryable());
        assert!(!task("unable to create CT 101 - no such template").is_retryable());
        let retries = ApiError::Retries {
            attempts: 3,
            last: Box::new(http(500, "detected modified configuration")),
        };
        assert!(!retries.is_retryable());
        assert!(retries.is_digest_mismatch());
    }

    #[test]
    fn task_display_shows_the_last_lines_escaped() {
        let log: Vec<String> = (1..=12).map(|i| format!("line {i}")).collect();
        let e = ApiError::Task {
            node: "pve1".into(),
            upid: "UPID:pve1:1".into(),
            exitstatus: "bad\x1b[2J".into(),
            log,
        };
        let text = e.to_string();
        assert!(text.starts_with("task UPID:pve1:1 on node pve1 failed: bad\\u{1b}[2J\n"));
        assert!(text.contains("task log (last 10 of 12 lines):\n  line 3\n"));
        assert!(!text.contains("line 2\n"));
        assert!(text.ends_with("  line 12"));
    }
}
