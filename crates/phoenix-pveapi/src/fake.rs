//! A scripted [`Transport`] for tests: answers in order, every request recorded.
//!
//! ```
//! use std::sync::Arc;
//! use phoenix_pveapi::fake::ScriptedTransport;
//! use phoenix_pveapi::{Client, Method, RawResponse, RetryPolicy};
//!
//! let t = Arc::new(ScriptedTransport::new());
//! t.reply(Method::Get, "/cluster/nextid", RawResponse::data("105".into()));
//! let client = Client::with_transport(t.clone(), RetryPolicy::none());
//! assert_eq!(client.next_id().unwrap(), 105);
//! assert_eq!(t.transcript(), "GET /cluster/nextid\n");
//! // Nothing more is scripted: an error naming the request, not a panic.
//! assert!(client.next_id().unwrap_err().to_string().contains("no scripted answer"));
//! ```

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::error::ApiError;
use crate::transport::{Method, RawResponse, Transport};

/// One request the transport received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRequest {
    /// The method.
    pub method: Method,
    /// The path below `/api2/json` with its query string.
    pub path_and_query: String,
    /// The form parameters, in order.
    pub form: Vec<(String, String)>,
}

impl SentRequest {
    /// `METHOD path[?query] [k=v&k=v]`, the transcript line.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}", self.method, self.path_and_query);
        if !self.form.is_empty() {
            let mut body = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &self.form {
                body.append_pair(k, v);
            }
            line.push(' ');
            line.push_str(&body.finish());
        }
        line
    }
}

#[derive(Debug)]
struct Scripted {
    method: Method,
    path_and_query: String,
    answer: Result<RawResponse, ApiError>,
}

/// Answers requests from a script, in order. A request that is not the next scripted one
/// gets an HTTP 404 naming it (so a test fails with a message, never a panic).
#[derive(Debug, Default)]
pub struct ScriptedTransport {
    script: Mutex<VecDeque<Scripted>>,
    sent: Mutex<Vec<SentRequest>>,
}

impl ScriptedTransport {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scripts the answer to the next request, which must be `method path_and_query`.
    pub fn reply(&self, method: Method, path_and_query: &str, answer: RawResponse) -> &Self {
        self.push(method, path_and_query, Ok(answer))
    }

    /// Scripts a transport failure (no answer) for the next request.
    pub fn fail(&self, method: Method, path_and_query: &str, error: ApiError) -> &Self {
        self.push(method, path_and_query, Err(error))
    }

    fn push(
        &self,
        method: Method,
        path_and_query: &str,
        answer: Result<RawResponse, ApiError>,
    ) -> &Self {
        lock(&self.script).push_back(Scripted {
            method,
            path_and_query: path_and_query.to_owned(),
            answer,
        });
        self
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<SentRequest> {
        lock(&self.sent).clone()
    }

    /// One [`SentRequest::line`] per request, each ending in `\n`.
    pub fn transcript(&self) -> String {
        lock(&self.sent)
            .iter()
            .map(|r| format!("{}\n", r.line()))
            .collect()
    }

    /// How many scripted answers are still unused.
    pub fn remaining(&self) -> usize {
        lock(&self.script).len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking test thread poisons nothing worth refusing here.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Transport for ScriptedTransport {
    fn send(
        &self,
        method: Method,
        path_and_query: &str,
        form: &[(String, String)],
    ) -> Result<RawResponse, ApiError> {
        lock(&self.sent).push(SentRequest {
            method,
            path_and_query: path_and_query.to_owned(),
            form: form.to_vec(),
        });
        let mut script = lock(&self.script);
        let matches = script
            .front()
            .is_some_and(|s| s.method == method && s.path_and_query == path_and_query);
        if !matches {
            let expected = script.front().map_or("nothing more".to_owned(), |s| {
                format!("{} {}", s.method, s.path_and_query)
            });
            return Ok(RawResponse::error(
                404,
                &format!(
                    "no scripted answer for {method} {path_and_query} (the script expects {expected})"
                ),
            ));
        }
        script
            .pop_front()
            .map_or_else(|| Ok(RawResponse::error(404, "empty script")), |s| s.answer)
    }
}
