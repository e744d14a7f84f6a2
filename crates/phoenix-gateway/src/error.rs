//! Why a fleet's gateway configuration cannot be rendered. Validation reports the
//! same problems with JSON pointers; these errors are for fleets built in code.

use phoenix_config::Ctid;

/// A fleet whose gateway configuration cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The hypervisor file has no `gateway` section.
    #[error(
        "the fleet names no gateway container: set gateway.ctid in phoenix_hypervisor_config.json"
    )]
    NoGateway,
    /// `gateway.ctid` names no container of the fleet.
    #[error("gateway container {ctid} is not a container of the fleet")]
    UnknownGateway {
        /// The id named.
        ctid: Ctid,
    },
    /// A container's gateway section has neither hostnames nor a path prefix.
    #[error("container {ctid}: its gateway section names no hostnames and no path_prefix")]
    NoRoute {
        /// The container.
        ctid: Ctid,
    },
    /// Two containers claim the same host and path.
    #[error("container {second}: host {host} path {path} is already routed to container {first}")]
    DuplicateRoute {
        /// The host name (`*` for the default server).
        host: String,
        /// The path prefix.
        path: String,
        /// The container that claimed it first (lower id).
        first: Ctid,
        /// The container that claims it again.
        second: Ctid,
    },
    /// A container asks for TLS but the gateway has no certificate.
    #[error(
        "container {ctid}: its gateway section asks for tls but gateway.tls names no certificate"
    )]
    TlsWithoutCertificate {
        /// The container.
        ctid: Ctid,
    },
    /// The gateway container routes to a port NGINX itself listens on.
    #[error(
        "container {ctid} is the gateway and NGINX listens on its port {port}: the route would proxy to itself"
    )]
    ProxiesToItself {
        /// The gateway container.
        ctid: Ctid,
        /// The upstream port.
        port: u16,
    },
    /// A certificate path holds a character NGINX reads as syntax.
    #[error("tls {field} path {path}: NGINX reads {found:?} as syntax")]
    UnsafePath {
        /// `certificate` or `key`.
        field: &'static str,
        /// The path.
        path: String,
        /// The offending character.
        found: char,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_says_what_to_fix() {
        let id = |n: &str| n.parse::<Ctid>().unwrap();
        let cases = [
            (
                GatewayError::NoGateway,
                "the fleet names no gateway container: set gateway.ctid in phoenix_hypervisor_config.json",
            ),
            (
                GatewayError::UnknownGateway { ctid: id("105") },
                "gateway container 105 is not a container of the fleet",
            ),
            (
                GatewayError::NoRoute { ctid: id("102") },
                "container 102: its gateway section names no hostnames and no path_prefix",
            ),
            (
                GatewayError::DuplicateRoute {
                    host: "*".into(),
                    path: "/app/".into(),
                    first: id("102"),
                    second: id("103"),
                },
                "container 103: host * path /app/ is already routed to container 102",
            ),
            (
                GatewayError::TlsWithoutCertificate { ctid: id("102") },
                "container 102: its gateway section asks for tls but gateway.tls names no certificate",
            ),
            (
                GatewayError::ProxiesToItself {
                    ctid: id("101"),
                    port: 80,
                },
                "container 101 is the gateway and NGINX listens on its port 80: the route would proxy to itself",
            ),
            (
                GatewayError::UnsafePath {
                    field: "key",
                    path: "/a;b".into(),
                    found: ';',
                },
                "tls key path /a;b: NGINX reads ';' as syntax",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
        }
    }
}
