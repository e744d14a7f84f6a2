//! [`Client`]: requests with retries, the `on_request` hook, and task waiting.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::ApiError;
use crate::https::HttpsTransport;
use crate::response::{self, Fields};
use crate::secret::ApiToken;
use crate::tls::Trust;
use crate::transport::{Method, Transport};
use crate::types::TaskOutcome;

/// Bounded exponential backoff for retryable failures ([`ApiError::is_retryable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (at least 1).
    pub attempts: u32,
    /// The wait before the second attempt; it doubles for each further one.
    pub first_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 6 attempts, 250 ms doubling, at most 5 s apart (about 8 s of waiting in all, enough
    /// for Proxmox's own 10 s config lock wait on the other side to often end first).
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait after failed attempt `attempt` (1-based).
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = phoenix_pveapi::RetryPolicy::default();
    /// assert_eq!(p.delay_after(1), Duration::from_millis(250));
    /// assert_eq!(p.delay_after(3), Duration::from_secs(1));
    /// assert_eq!(p.delay_after(9), Duration::from_secs(5));
    /// ```
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.first_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// Runs `op` until it succeeds, fails in a way not worth retrying, or the attempts
    /// are used up ([`ApiError::Retries`] with the last failure, when more than one
    /// attempt was made).
    pub(crate) fn run<T>(
        &self,
        mut op: impl FnMut(u32) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let attempts = self.attempts.max(1);
        let mut attempt = 1;
        loop {
            match op(attempt) {
                Err(e) if e.is_retryable() => {
                    if attempt >= attempts {
                        return Err(if attempts > 1 {
                            ApiError::Retries {
                                attempts,
                                last: Box::new(e),
                            }
                        } else {
                            e
                        });
                    }
                    std::thread::sleep(self.delay_after(attempt));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// What [`Client::new`] needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://host:8006` (a trailing `/` or `/api2/json` is accepted).
    pub base_url: String,
    /// The API token.
    pub token: ApiToken,
    /// How the server's certificate is trusted.
    pub trust: Trust,
    /// Retries of retryable failures.
    pub retry: RetryPolicy,
    /// The timeout of one HTTP request (connect, send and read together).
    pub timeout: Duration,
}

impl ClientConfig {
    /// A config with the default retry policy and a 60 s request timeout.
    pub fn new(base_url: impl Into<String>, token: ApiToken, trust: Trust) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            token,
            trust,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// One HTTP attempt, for the [`Client::on_request`] hook. Holds no header and no body,
/// so nothing secret: the path's query holds only parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The method.
    pub method: Method,
    /// The path below `/api2/json`, with its query string.
    pub path: String,
    /// The HTTP status; 0 when no answer came (a connection or TLS failure).
    pub status: u16,
    /// 1 for the first attempt of this request, 2 for its first retry, ...
    pub attempt: u32,
    /// How long the attempt took.
    pub duration: Duration,
}

type Hook = Arc<dyn Fn(&RequestRecord) + Send + Sync>;

/// A PVE API client. Cheap to clone (an `Arc` inside); `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// How long a task may run before [`Client::wait_task`] gives up: one hour (a create
/// from a large template or a full clone of a big disk takes minutes, not hours).
pub const DEFAULT_TASK_DEADLINE: Duration = Duration::from_secs(3600);

#[derive(Clone)]
struct Inner {
    transport: Arc<dyn Transport>,
    retry: RetryPolicy,
    hook: Option<Hook>,
    poll_first: Duration,
    poll_max: Duration,
    /// How long `wait_task` waits for a task to stop.
    task_deadline: Duration,
    /// For `Debug`: the base URL and the token id, never the secret.
    label: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.label)
            .field("retry", &self.inner.retry)
            .field("on_request", &self.inner.hook.is_some())
            .finish()
    }
}

/// Percent-encodes one path segment (a node name, a UPID, a snapshot name): every byte
/// but RFC 3986's unreserved characters, sub-delimiters, `:` and `@` (UPIDs hold `:`
/// and `@`, and stay readable in logs).
///
/// ```
/// assert_eq!(phoenix_pveapi::encode_segment("UPID:pve1:00001234::vzcreate:101:u@pve!t:"),
///            "UPID:pve1:00001234::vzcreate:101:u@pve!t:");
/// assert_eq!(phoenix_pveapi::encode_segment("a/b c?"), "a%2Fb%20c%3F");
/// ```
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// A client over HTTPS. Fails only on a bad URL or an unusable CA file: nothing is
    /// sent until the first call.
    pub fn new(cfg: ClientConfig) -> Result<Client, ApiError> {
        let label = format!(
            "{} as {}",
            crate::https::base_url(&cfg.base_url)?,
            cfg.token.id
        );
        let transport = HttpsTransport::new(&cfg.base_url, cfg.token, &cfg.trust, cfg.timeout)?;
        let mut client = Client::with_transport(Arc::new(transport), cfg.retry);
        Arc::make_mut(&mut client.inner).label = label;
        Ok(client)
    }

    /// A client over any transport (tests: [`ScriptedTransport`](crate::fake::ScriptedTransport)).
    pub fn with_transport(t: Arc<dyn Transport>, retry: RetryPolicy) -> Client {
        Client {
            inner: Arc::new(Inner {
                transport: t,
                retry,
                hook: None,
                poll_first: Duration::from_millis(100),
                poll_max: Duration::from_secs(1),
                task_deadline: DEFAULT_TASK_DEADLINE,
                label: "a custom transport".into(),
            }),
        }
    }

    /// Calls `f` after every HTTP attempt (retries included), e.g. to log requests.
    pub fn on_request(self, f: Arc<dyn Fn(&RequestRecord) + Send + Sync>) -> Client {
        let mut client = self;
        Arc::make_mut(&mut client.inner).hook = Some(f);
        client
    }

    /// How [`wait_task`](Self::wait_task) polls: `first` after the first look, doubling
    /// up to `max` (default 100 ms to 1 s).
    pub fn task_poll(self, first: Duration, max: Duration) -> Client {
        let mut client = self;
        let inner = Arc::make_mut(&mut client.inner);
        inner.poll_first = first;
        inner.poll_max = max.max(first);
        client
    }

    /// How long [`wait_task`](Self::wait_task) waits for a task to stop before it
    /// gives up with [`ApiError::TaskTimeout`] (default [`DEFAULT_TASK_DEADLINE`]); the
    /// task itself goes on on the node.
    pub fn task_deadline(self, deadline: Duration) -> Client {
        let mut client = self;
        Arc::make_mut(&mut client.inner).task_deadline = deadline;
        client
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// One request with retries: the `data` of the answer.
    fn call(
        &self,
        method: Method,
        path_and_query: &str,
        form: &[(String, String)],
    ) -> Result<Value, ApiError> {
        self.inner.retry.run(|attempt| {
            let started = Instant::now();
            let sent = self.inner.transport.send(method, path_and_query, form);
            if let Some(hook) = &self.inner.hook {
                hook(&RequestRecord {
                    method,
                    path: path_and_query.to_owned(),
                    status: sent.as_ref().map_or(0, |r| r.status),
                    attempt,
                    duration: started.elapsed(),
                });
            }
            response::interpret(method, path_and_query, sent?)
        })
    }

    /// `GET path?query` (values percent-encoded): the answer's `data`.
    pub fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiError> {
        if query.is_empty() {
            return self.call(Method::Get, path, &[]);
        }
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            q.append_pair(k, v);
        }
        self.call(Method::Get, &format!("{path}?{}", q.finish()), &[])
    }

    /// `POST path` with a form body: the answer's `data` (often a UPID; see
    /// [`wait_task`](Self::wait_task)).
    pub fn post(&self, path: &str, form: &[(String, String)]) -> Result<Value, ApiError> {
        self.call(Method::Post, path, form)
    }

    /// `PUT path` with a form body: the answer's `data`.
    pub fn put(&self, path: &str, form: &[(String, String)]) -> Result<Value, ApiError> {
        self.call(Method::Put, path, form)
    }

    /// `DELETE path` with a form body: the answer's `data`.
    pub fn delete(&self, path: &str, form: &[(String, String)]) -> Result<Value, ApiError> {
        self.call(Method::Delete, path, form)
    }

    /// Polls the task's status until it stopped. `OK` and `WARNINGS: n` succeed (the
    /// log is fetched for warnings); any other exit status is [`ApiError::Task`] with the
    /// whole task log. There is no deadline of its own: a task ends or its node fails.
    pub fn wait_task(&self, node: &str, upid: &str) -> Result<TaskOutcome, ApiError> {
        let path = format!(
            "/nodes/{}/tasks/{}/status",
            encode_segment(node),
            encode_segment(upid)
        );
        let mut delay = self.inner.poll_first;
        let started = std::time::Instant::now();
        let exitstatus = loop {
            let status = self.get(&path, &[])?;
            let f = Fields::new(&path, "a task status", &status)?;
            if f.string("status")? == "stopped" {
                break f
                    .opt_string("exitstatus")?
                    .unwrap_or_else(|| "unknown (no exit status)".into());
            }
            if started.elapsed() >= self.inner.task_deadline {
                return Err(ApiError::TaskTimeout {
                    node: node.to_owned(),
                    upid: upid.to_owned(),
                    waited: started.elapsed(),
                });
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(self.inner.poll_max);
        };
        let outcome = |warnings, log| TaskOutcome {
            upid: Some(upid.to_owned()),
            warnings,
            log,
        };
        if exitstatus == "OK" {
            return Ok(outcome(0, Vec::new()));
        }
        if let Some(n) = exitstatus
            .strip_prefix("WARNINGS:")
            .and_then(|n| n.trim().parse().ok())
        {
            return Ok(outcome(n, self.task_log(node, upid)?));
        }
        // The failure is the news; a log that cannot be had does not hide it.
        let log = self
            .task_log(node, upid)
            .unwrap_or_else(|e| vec![format!("(the task log could not be read: {e})")]);
        Err(ApiError::Task {
            node: node.to_owned(),
            upid: upid.to_owned(),
            exitstatus,
            log,
        })
    }

    /// The task's whole log, line by line (read in pages of 500).
    pub fn task_log(&self, node: &str, upid: &str) -> Result<Vec<String>, ApiError> {
        const PAGE: usize = 500;
        const MAX_PAGES: usize = 200;
        let path = format!(
            "/nodes/{}/tasks/{}/log",
            encode_segment(node),
            encode_segment(upid)
        );
        let mut lines = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.get(
                &path,
                &[
                    ("start", lines.len().to_string()),
                    ("limit", PAGE.to_string()),
                ],
            )?;
            let Value::Array(entries) = page else {
                return Err(response::decode(
                    &path,
                    format!(
                        "expected the log as an array, got {}",
                        response::kind(&page)
                    ),
                ));
            };
            let count = entries.len();
            for entry in &entries {
                let f = Fields::new(&path, "a task log line", entry)?;
                lines.push(f.opt_string("t")?.unwrap_or_default());
            }
            if count < PAGE {
                break;
            }
        }
        Ok(lines)
    }

    /// Runs a task-starting call and waits for its task; a task that fails on a lock
    /// (or an HTTP failure worth it) starts the whole operation again, within the policy.
    pub(crate) fn task_op(
        &self,
        node: &str,
        path: &str,
        start: impl Fn() -> Result<Value, ApiError>,
    ) -> Result<TaskOutcome, ApiError> {
        self.inner.retry.run(|_| match start()? {
            Value::String(upid) => self.wait_task(node, &upid),
            // `POST .../template` answers null in Proxmox: done, no task to follow.
            Value::Null => Ok(TaskOutcome::default()),
            other => Err(response::decode(
                path,
                format!("expected a task id (UPID), got {}", response::short(&other)),
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Client>();
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy {
            attempts: 40,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let waits: Vec<u128> = (1..=6).map(|a| p.delay_after(a).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.delay_after(40), Duration::from_secs(1));
        assert_eq!(p.delay_after(u32::MAX), Duration::from_secs(1));
    }
}
