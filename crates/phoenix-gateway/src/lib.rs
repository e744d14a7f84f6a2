//! The NGINX gateway's configuration, rendered from a phoenix fleet. Pure: a
//! [`Fleet`](phoenix_config::Fleet) in, text out, no files and no processes.
//!
//! The hypervisor file names the gateway container and its certificate
//! (`"gateway": {"ctid": 101, "tls": {"certificate": ..., "key": ...}, "http": "redirect"}`);
//! each exposed container says how it is reached
//! (`"gateway": {"hostnames": [...], "path_prefix": "/app/", "upstream_port": 8080, "websocket": true, "tls": false}`).
//! [`render`] writes one file for `/etc/nginx/conf.d/phoenix.conf` (inside NGINX's
//! `http` block, as Debian's `nginx.conf` includes `conf.d/*.conf`):
//!
//! - an `upstream phoenix_ct<id>` per exposed container, at its `network_config.ip`
//!   and `upstream_port`;
//! - a `server` per host name and port; path prefixes without host names go on the
//!   default server (`server_name _`, `default_server`), which also answers 404 (or,
//!   on port 80 with TLS, redirects) for every host and path nobody routes;
//! - with a certificate, `listen 443 ssl` servers with `ssl_certificate` and
//!   `ssl_certificate_key`; port 80 redirects their routes to `https://` (`"http":
//!   "redirect"`, the default) or serves them too (`"serve"`); a route with
//!   `"tls": false` is served on port 80 only;
//! - in every location `Host`, `X-Real-IP`, `X-Forwarded-For` and
//!   `X-Forwarded-Proto`, and for WebSocket routes HTTP/1.1 with `Upgrade` and
//!   `Connection $connection_upgrade` from one `map $http_upgrade` (written only when
//!   a route asks for it).
//!
//! A host name longer than NGINX's default `server_names_hash_bucket_size` holds (46
//! characters) gets the bucket size it needs, at the top of the file.
//!
//! Only directives NGINX 1.22 (Debian 12) knows; no `http2` (its `listen` parameter
//! is deprecated from 1.25.1 and the `http2` directive does not exist before).
//! Output is sorted (upstreams by id, servers by port then host, locations by path)
//! and starts with a comment saying it is generated.
//!
//! ```
//! let dir = camino::Utf8PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/example");
//! let fleet = phoenix_config::load_dir(&dir).unwrap().fleet;
//! let text = phoenix_gateway::render(&fleet).unwrap();
//! assert!(text.starts_with(phoenix_gateway::HEADER));
//! assert!(text.contains("upstream phoenix_ct950 {\n    server 10.0.0.150:8000;\n}"));
//! assert!(text.contains("    listen 443 ssl;\n    server_name vllm.phoenix.lan;"));
//! ```

#![deny(missing_docs)]

mod error;
mod render;
pub mod routes;
mod step;

pub use error::GatewayError;
pub use render::{HEADER, render_config};
pub use routes::{GatewayConfig, build};
pub use step::{CONF_PATH, GatewayStep, STAGED_CONF, step};

/// The NGINX configuration of the fleet's gateway (see the crate docs).
pub fn render(fleet: &phoenix_config::Fleet) -> Result<String, GatewayError> {
    build(fleet).map(|c| render_config(&c))
}
