//! The one seam between the client and the network: [`Transport`].

use std::fmt;

use crate::ApiError;

/// An HTTP method the PVE API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: reads; parameters in the query string.
    Get,
    /// `POST`: creates and actions; parameters in a form body.
    Post,
    /// `PUT`: updates; parameters in a form body.
    Put,
    /// `DELETE`: removals; parameters in a form body.
    Delete,
}

impl Method {
    /// The method as HTTP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    /// Whether the method changes state (everything but `GET`).
    pub fn is_mutating(self) -> bool {
        self != Method::Get
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An HTTP answer as it came: any status, the reason phrase (Proxmox puts its error
/// message there) and the body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The reason phrase of the status line.
    pub reason: String,
    /// The body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// `200 OK` with `{"data": data}`, a successful Proxmox answer.
    pub fn data(data: serde_json::Value) -> Self {
        RawResponse {
            status: 200,
            reason: "OK".into(),
            body: serde_json::json!({ "data": data }).to_string().into_bytes(),
        }
    }

    /// An error as Proxmox sends it: the message as reason phrase and
    /// `{"data":null,"message":"<message>\n"}` as body.
    pub fn error(status: u16, message: &str) -> Self {
        RawResponse {
            status,
            reason: message.into(),
            body: serde_json::json!({ "data": null, "message": format!("{message}\n") })
                .to_string()
                .into_bytes(),
        }
    }

    /// A `400 Parameter verification failed.` with per-parameter errors.
    pub fn params(errors: &[(&str, &str)]) -> Self {
        let errors: serde_json::Map<String, serde_json::Value> = errors
            .iter()
            .map(|(k, v)| ((*k).to_owned(), format!("{v}\n").into()))
            .collect();
        RawResponse {
            status: 400,
            reason: "Parameter verification failed.".into(),
            body: serde_json::json!({
                "data": null,
                "errors": errors,
                "message": "Parameter verification failed.\n",
            })
            .to_string()
            .into_bytes(),
        }
    }
}

/// Sends one request and returns the answer, whatever its status.
///
/// `path_and_query` is the path below `/api2/json` (it starts with `/`), with the query
/// string already encoded; `form` is the body's parameters (sent form-encoded, empty for
/// `GET`). An `Err` is a transport failure: no answer came ([`ApiError::Connect`],
/// [`ApiError::Tls`]). Retries, status handling and decoding happen in [`Client`](crate::Client).
pub trait Transport: Send + Sync {
    /// Sends the request.
    fn send(
        &self,
        method: Method,
        path_and_query: &str,
        form: &[(String, String)],
    ) -> Result<RawResponse, ApiError>;
}
