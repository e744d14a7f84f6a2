//! What the gateway step hands the gateway container: the rendered file, staged as
//! `phoenix.conf` beside `gateway.sh`, and the script's environment.

use phoenix_config::{Ctid, Fleet};

use crate::{GatewayError, build, render_config};

/// Where `gateway.sh` installs the rendered file inside the gateway container.
pub const CONF_PATH: &str = "/etc/nginx/conf.d/phoenix.conf";

/// The staged file's name, relative to the staging directory (`$PHOENIX_RUN_DIR`).
pub const STAGED_CONF: &str = "phoenix.conf";

/// The gateway step of a fleet: run `gateway.sh` in `ctid` with `conf` staged as
/// [`STAGED_CONF`] and `env` in its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayStep {
    /// The gateway container.
    pub ctid: Ctid,
    /// The rendered configuration (what [`crate::render`] returns).
    pub conf: String,
    /// `PHOENIX_GATEWAY_CERT` and `PHOENIX_GATEWAY_KEY` (empty without TLS) and
    /// `PHOENIX_GATEWAY_NAMES` (space-separated host names for a generated
    /// certificate), sorted by name.
    pub env: Vec<(String, String)>,
}

/// The gateway step the fleet asks for.
pub fn step(fleet: &Fleet) -> Result<GatewayStep, GatewayError> {
    let config = build(fleet)?;
    let (cert, key) = config
        .tls
        .as_ref()
        .map(|t| (t.certificate.clone(), t.key.clone()))
        .unwrap_or_default();
    let env = vec![
        ("PHOENIX_GATEWAY_CERT".to_owned(), cert),
        ("PHOENIX_GATEWAY_KEY".to_owned(), key),
        (
            "PHOENIX_GATEWAY_NAMES".to_owned(),
            config.host_names().join(" "),
        ),
    ];
    Ok(GatewayStep {
        ctid: config.ctid,
        conf: render_config(&config),
        env,
    })
}
