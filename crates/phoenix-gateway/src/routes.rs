//! The gateway as a value: which upstreams and servers the fleet's `gateway`
//! sections ask for, sorted, before any text is written.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::net::Ipv4Addr;

use phoenix_config::Ctid;
use phoenix_config::Fleet;
use phoenix_config::model::gateway::HttpMode;

use crate::GatewayError;

/// Characters NGINX reads as syntax (`$` as a variable) in an unquoted argument.
const NGINX_SYNTAX: &str = ";{}#'\"$\\";

/// The whole gateway: what [`render_config`](crate::render_config) writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// The container NGINX runs in.
    pub ctid: Ctid,
    /// The certificate, when the gateway serves HTTPS.
    pub tls: Option<Tls>,
    /// One per exposed container, by id.
    pub upstreams: Vec<Upstream>,
    /// Port 80 servers first, then port 443; in each the default server first, then
    /// by host name.
    pub servers: Vec<Server>,
}

impl GatewayConfig {
    /// True when some route proxies WebSocket upgrades (the `map` is needed).
    pub fn needs_upgrade_map(&self) -> bool {
        self.servers
            .iter()
            .flat_map(|s| &s.locations)
            .any(|l| l.websocket)
    }

    /// Every host name a server answers for, sorted (the names a generated
    /// certificate should carry).
    pub fn host_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.servers.iter().filter_map(|s| s.host.clone()).collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The gateway's certificate and key (paths inside the gateway container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// `ssl_certificate`.
    pub certificate: String,
    /// `ssl_certificate_key`.
    pub key: String,
}

/// An exposed container: `upstream phoenix_ct<id> { server <ip>:<port>; }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The container.
    pub ctid: Ctid,
    /// Its hostname, for a comment.
    pub container_name: String,
    /// Its address (`network_config.ip` without the prefix).
    pub addr: Ipv4Addr,
    /// `gateway.upstream_port`.
    pub port: u16,
}

impl Upstream {
    /// The NGINX upstream name.
    pub fn name(&self) -> String {
        format!("phoenix_ct{}", self.ctid)
    }
}

/// Which socket a server listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Listen {
    /// `listen 80`.
    Http,
    /// `listen 443 ssl`.
    Https,
}

/// What a server answers for a path no route claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// `return 404`.
    NotFound,
    /// `return 301 https://$host$request_uri`.
    RedirectToHttps,
}

/// One `server` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Port 80 or 443.
    pub listen: Listen,
    /// The host name, lower case; `None` for the default server (`server_name _`).
    pub host: Option<String>,
    /// Routes by path, sorted.
    pub locations: Vec<Location>,
    /// For paths no location claims (`/` when no route claims it).
    pub fallback: Fallback,
}

impl Server {
    /// True when a route claims `/` (no fallback location is written).
    pub fn claims_root(&self) -> bool {
        self.locations.iter().any(|l| l.path == "/")
    }
}

/// One `location <path>` proxying to an upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The path prefix.
    pub path: String,
    /// The container routed to (its upstream).
    pub ctid: Ctid,
    /// Pass WebSocket upgrades on.
    pub websocket: bool,
}

type ServerKey = (Listen, Option<String>);

/// The gateway the fleet asks for; an error for what validation also rejects.
pub fn build(fleet: &Fleet) -> Result<GatewayConfig, GatewayError> {
    let gw = fleet
        .hypervisor
        .gateway
        .as_ref()
        .ok_or(GatewayError::NoGateway)?;
    if !fleet.lxc.lxc_configs.contains_key(&gw.ctid) {
        return Err(GatewayError::UnknownGateway { ctid: gw.ctid });
    }
    let tls = match &gw.tls {
        None => None,
        Some(t) => {
            for (field, path) in [("certificate", &t.certificate), ("key", &t.key)] {
                if let Some(found) = path.as_str().chars().find(|c| NGINX_SYNTAX.contains(*c)) {
                    return Err(GatewayError::UnsafePath {
                        field,
                        path: path.to_string(),
                        found,
                    });
                }
            }
            Some(Tls {
                certificate: t.certificate.to_string(),
                key: t.key.to_string(),
            })
        }
    };
    let mut upstreams = Vec::new();
    let mut servers: BTreeMap<ServerKey, BTreeMap<String, Location>> = BTreeMap::new();
    // Who claimed (host, path) first, whatever the port.
    let mut claimed: BTreeMap<(String, String), Ctid> = BTreeMap::new();
    servers.insert((Listen::Http, None), BTreeMap::new());
    if tls.is_some() {
        servers.insert((Listen::Https, None), BTreeMap::new());
    }
    for (&ctid, c) in &fleet.lxc.lxc_configs {
        let Some(g) = &c.gateway else { continue };
        if g.hostnames.is_empty() && g.path_prefix.is_none() {
            return Err(GatewayError::NoRoute { ctid });
        }
        let over_tls = match g.tls {
            Some(true) if tls.is_none() => {
                return Err(GatewayError::TlsWithoutCertificate { ctid });
            }
            Some(on) => on,
            None => tls.is_some(),
        };
        // NGINX listens on 80, and on 443 whenever the gateway has a certificate.
        if ctid == gw.ctid && (g.upstream_port == 80 || (tls.is_some() && g.upstream_port == 443)) {
            return Err(GatewayError::ProxiesToItself {
                ctid,
                port: g.upstream_port,
            });
        }
        upstreams.push(Upstream {
            ctid,
            container_name: c.name.to_string(),
            addr: c.network_config.ip.addr(),
            port: g.upstream_port,
        });
        let path = g
            .path_prefix
            .as_ref()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let hosts: Vec<Option<String>> = if g.hostnames.is_empty() {
            vec![None]
        } else {
            g.hostnames
                .iter()
                .map(|h| Some(h.as_str().to_ascii_lowercase()))
                .collect()
        };
        let mut listens = Vec::new();
        if over_tls {
            listens.push(Listen::Https);
        }
        if !over_tls || gw.http == HttpMode::Serve {
            listens.push(Listen::Http);
        }
        for host in hosts {
            let shown = host.clone().unwrap_or_else(|| "*".to_owned());
            match claimed.entry((shown.clone(), path.clone())) {
                Entry::Occupied(first) => {
                    return Err(GatewayError::DuplicateRoute {
                        host: shown,
                        path,
                        first: *first.get(),
                        second: ctid,
                    });
                }
                Entry::Vacant(v) => {
                    v.insert(ctid);
                }
            }
            for &listen in &listens {
                servers.entry((listen, host.clone())).or_default().insert(
                    path.clone(),
                    Location {
                        path: path.clone(),
                        ctid,
                        websocket: g.websocket,
                    },
                );
            }
        }
    }
    let https_hosts: Vec<Option<String>> = servers
        .keys()
        .filter(|(l, _)| *l == Listen::Https)
        .map(|(_, h)| h.clone())
        .collect();
    let servers = servers
        .into_iter()
        .map(|((listen, host), locations)| {
            // Port 80 sends what it does not serve itself to HTTPS when the
            // gateway redirects and HTTPS answers for that host (or for any host,
            // on the default server).
            let redirect = listen == Listen::Http
                && tls.is_some()
                && gw.http == HttpMode::Redirect
                && (host.is_none() || https_hosts.contains(&host));
            Server {
                listen,
                host,
                locations: locations.into_values().collect(),
                fallback: if redirect {
                    Fallback::RedirectToHttps
                } else {
                    Fallback::NotFound
                },
            }
        })
        .collect();
    Ok(GatewayConfig {
        ctid: gw.ctid,
        tls,
        upstreams,
        servers,
    })
}
