//! The real [`Transport`]: HTTPS with `ureq` and rustls.

use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ApiError;
use crate::secret::ApiToken;
use crate::tls::{self, Trust};
use crate::transport::{Method, RawResponse, Transport};

/// An answer body larger than this is refused (a task log page is a few hundred KiB).
const BODY_LIMIT: u64 = 64 * 1024 * 1024;

/// HTTPS to one PVE API endpoint with one token.
pub(crate) struct HttpsTransport {
    agent: ureq::Agent,
    /// `https://host:port`, without a trailing `/`.
    base: String,
    token: ApiToken,
}

impl fmt::Debug for HttpsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpsTransport")
            .field("base", &self.base)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// Checks `https://host[:port]` (a trailing `/` or `/api2/json` is dropped) and returns it
/// without the trailing part.
pub(crate) fn base_url(url: &str) -> Result<String, ApiError> {
    let bad = |reason: &str| ApiError::Url {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| bad("it must start with https://"))?;
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix("/api2/json").unwrap_or(rest);
    if rest.is_empty() {
        return Err(bad("it names no host"));
    }
    if rest.contains(['/', '?', '#']) {
        return Err(bad("expected https://host:port without a path"));
    }
    if rest.contains('@') {
        return Err(bad(
            "credentials do not belong in the URL; use the API token",
        ));
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it holds white space"));
    }
    Ok(format!("https://{rest}"))
}

impl HttpsTransport {
    pub(crate) fn new(
        base_url: &str,
        token: ApiToken,
        trust: &Trust,
        timeout: Duration,
    ) -> Result<Self, ApiError> {
        let base = self::base_url(base_url)?;
        let config = tls::client_config(trust).map_err(|problem| ApiError::Tls {
            url: base.clone(),
            problem,
        })?;
        let agent = ureq::AgentBuilder::new()
            .tls_config(Arc::new(config))
            .timeout(timeout)
            .https_only(true)
            // A redirect is not something the PVE API does; never follow one with the token.
            .redirects(0)
            .try_proxy_from_env(false)
            .user_agent(concat!("phoenix-pveapi/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(HttpsTransport { agent, base, token })
    }
}

impl Transport for HttpsTransport {
    fn send(
        &self,
        method: Method,
        path_and_query: &str,
        form: &[(String, String)],
    ) -> Result<RawResponse, ApiError> {
        let url = format!("{}/api2/json{path_and_query}", self.base);
        let request = self
            .agent
            .request(method.as_str(), &url)
            .set("Authorization", &self.token.header_value())
            .set("Accept", "application/json");
        let result = if form.is_empty() {
            request.call()
        } else {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            request.send_form(&pairs)
        };
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(self.transport_error(&url, &t)),
        };
        let status = response.status();
        let reason = response.status_text().to_owned();
        let mut body = Vec::new();
        response
            .into_reader()
            .take(BODY_LIMIT)
            .read_to_end(&mut body)
            .map_err(|e| ApiError::Connect {
                url: url.clone(),
                message: format!("reading the answer failed: {e}"),
            })?;
        Ok(RawResponse {
            status,
            reason,
            body,
        })
    }
}

impl HttpsTransport {
    fn transport_error(&self, url: &str, t: &ureq::Transport) -> ApiError {
        if let Some(problem) = std::error::Error::source(t).and_then(tls::tls_problem_in) {
            return ApiError::Tls {
                url: self.base.clone(),
                problem,
            };
        }
        if t.kind() == ureq::ErrorKind::InvalidUrl {
            return ApiError::Url {
                url: url.to_owned(),
                reason: t.to_string(),
            };
        }
        // ureq's text names the URL and the cause; it never holds headers.
        let message = match (t.message(), std::error::Error::source(t)) {
            (Some(m), Some(s)) => format!("{}: {m}: {s}", t.kind()),
            (Some(m), None) => format!("{}: {m}", t.kind()),
            (None, Some(s)) => format!("{}: {s}", t.kind()),
            (None, None) => t.kind().to_string(),
        };
        ApiError::Connect {
            url: url.to_owned(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        for (given, want) in [
            ("https://pve1:8006", "https://pve1:8006"),
            ("https://pve1:8006/", "https://pve1:8006"),
            ("https://10.0.0.5:8006/api2/json/", "https://10.0.0.5:8006"),
            ("https://[::1]:8006", "https://[::1]:8006"),
        ] {
            assert_eq!(base_url(given).unwrap(), want);
        }
        let err = |u| base_url(u).unwrap_err().to_string();
        assert_eq!(
            err("http://pve1:8006"),
            "invalid PVE API URL 'http://pve1:8006': it must start with https://"
        );
        assert_eq!(
            err("https://pve1:8006/x"),
            "invalid PVE API URL 'https://pve1:8006/x': expected https://host:port without a path"
        );
        assert!(err("https://u:p@pve1").contains("credentials"));
        assert!(err("https://").contains("no host"));
    }
}
