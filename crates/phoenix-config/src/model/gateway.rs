//! The NGINX gateway of the fleet (`gateway` in `phoenix_hypervisor_config.json`):
//! which container runs NGINX and how it serves TLS. Each exposed container says
//! how it is reached in its own `gateway` section
//! ([`Gateway`](super::container::Gateway)).
//!
//! ```json
//! "gateway": {
//!     "ctid": 101,
//!     "tls": { "certificate": "/etc/nginx/ssl/phoenix.crt", "key": "/etc/nginx/ssl/phoenix.key" },
//!     "http": "redirect"
//! }
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::Ctid;
use crate::names::AbsPath;

/// The fleet's NGINX gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetGateway {
    /// The container that runs NGINX (a container of `phoenix_lxc_configs.json`).
    /// Its configuration is rendered from every container's `gateway` section
    /// (`phoenix gateway render`).
    pub ctid: Ctid,
    /// Serve HTTPS on port 443 with this certificate. Without it the gateway serves
    /// plain HTTP on port 80 only. A missing certificate is generated (self-signed)
    /// inside the gateway container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<GatewayTls>,
    /// What port 80 does for routes served over TLS: `redirect` (default) answers
    /// with a redirect to `https://`, `serve` proxies them on port 80 too. Routes of
    /// containers with `"tls": false` are always served on port 80.
    #[serde(default, skip_serializing_if = "HttpMode::is_redirect")]
    pub http: HttpMode,
}

/// The gateway's certificate and key, paths inside the gateway container (PEM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayTls {
    /// The certificate (chain), PEM (`ssl_certificate`).
    pub certificate: AbsPath,
    /// Its private key, PEM (`ssl_certificate_key`).
    pub key: AbsPath,
}

/// What port 80 does for routes served over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HttpMode {
    /// Redirect to the same URL over `https://` (301).
    #[default]
    Redirect,
    /// Proxy on port 80 as on port 443.
    Serve,
}

impl HttpMode {
    fn is_redirect(&self) -> bool {
        *self == HttpMode::Redirect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_shape_reads() {
        let g: FleetGateway = serde_json::from_str(
            r#"{"ctid": 101, "tls": {"certificate": "/etc/nginx/ssl/phoenix.crt", "key": "/etc/nginx/ssl/phoenix.key"}}"#,
        )
        .unwrap();
        assert_eq!(g.ctid.get(), 101);
        assert_eq!(g.http, HttpMode::Redirect);
        assert_eq!(
            g.tls.unwrap().certificate.as_str(),
            "/etc/nginx/ssl/phoenix.crt"
        );
        let g: FleetGateway = serde_json::from_str(r#"{"ctid": "101", "http": "serve"}"#).unwrap();
        assert_eq!((g.tls, g.http), (None, HttpMode::Serve));
    }
}
