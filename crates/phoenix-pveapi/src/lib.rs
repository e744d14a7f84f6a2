//! A client for the Proxmox VE REST API (`https://NODE:8006/api2/json`): API token
//! authentication, TLS trusted through a CA file or a pinned certificate fingerprint,
//! Proxmox's answer shapes, tasks followed to their end, and bounded retries of lock
//! conflicts and server errors.
//!
//! # On the wire
//! ```text
//! POST /api2/json/nodes/pve1/lxc HTTP/1.1
//! Authorization: PVEAPIToken=phoenix@pve!converge=<secret>
//! Content-Type: application/x-www-form-urlencoded
//!
//! vmid=101&ostemplate=local%3Avztmpl%2Fdebian-12.tar.zst&memory=512
//!
//! HTTP/1.1 200 OK
//! {"data":"UPID:pve1:0000A1B2:0001C3D4:6750F00D:vzcreate:101:phoenix@pve!converge:"}
//! ```
//! Errors come as a status whose reason phrase is the message, with
//! `{"data":null,"message":"CT is locked (clone)\n"}` (400 adds `"errors":{"param":"..."}`).
//! A mutating call that returns a UPID is followed through
//! `/nodes/{node}/tasks/{upid}/status` until the task stopped; its exit status is `OK`,
//! `WARNINGS: n` or an error text, which becomes [`ApiError::Task`] with the task log.
//!
//! # Retries
//! [`RetryPolicy`] (default 6 attempts, 250 ms doubling, at most 5 s) covers connection
//! failures, HTTP 5xx and tasks failing on a lock (`CT is locked`, `can't lock file ...
//! got timeout`): such a task starts its whole operation again. 400, 401, 403 and other
//! task failures are final. Every HTTP attempt goes to the [`Client::on_request`] hook.
//!
//! # The secret
//! [`Secret`] comes from a file or an environment variable and is only ever written into
//! the `Authorization` header: `Debug` redacts it, no error or [`RequestRecord`] holds it.
//!
//! # Example
//! A real client is [`Client::new`] with a [`ClientConfig`]; tests script the answers:
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::Arc;
//! use phoenix_pveapi::fake::ScriptedTransport;
//! use phoenix_pveapi::{ApiError, Client, Method, RawResponse, RetryPolicy};
//! use serde_json::json;
//!
//! let upid = "UPID:pve1:00001234:00005678:6750F00D:vzstart:101:phoenix@pve!converge:";
//! let t = Arc::new(ScriptedTransport::new());
//! t.reply(Method::Post, "/nodes/pve1/lxc/101/status/start", RawResponse::data(upid.into()))
//!  .reply(Method::Get, &format!("/nodes/pve1/tasks/{upid}/status"),
//!         RawResponse::data(json!({"status": "stopped", "exitstatus": "OK"})))
//!  .reply(Method::Post, "/nodes/pve1/lxc", RawResponse::error(403,
//!         "Permission check failed (mount point type bind is only allowed for root@pam)"));
//! let client = Client::with_transport(t.clone(), RetryPolicy::default());
//!
//! let started = client.lxc_start("pve1", 101).unwrap();
//! assert_eq!(started.upid.as_deref(), Some(upid));
//!
//! let params = BTreeMap::from([("mp0".to_string(), "/srv/data,mp=/data".to_string())]);
//! let err = client.lxc_create("pve1", 102, "local:vztmpl/debian-12.tar.zst", &params).unwrap_err();
//! assert!(matches!(err, ApiError::Forbidden { .. })); // not retried
//! assert_eq!(t.remaining(), 0);
//! ```
//!
//! ```no_run
//! use phoenix_pveapi::{ApiToken, Client, ClientConfig, Secret, Trust};
//!
//! let token = ApiToken {
//!     id: "phoenix@pve!converge".parse()?,
//!     secret: Secret::from_file("/etc/phoenix/pve-token")?,
//! };
//! let pin = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
//! let client = Client::new(ClientConfig::new("https://pve1:8006", token, Trust::Fingerprint(pin.parse()?)))?;
//! println!("Proxmox VE {}", client.version()?.version);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod client;
mod config;
mod error;
pub mod fake;
mod https;
mod lxc;
mod response;
mod secret;
mod tls;
mod transport;
mod types;

pub use client::{
    Client, ClientConfig, DEFAULT_TASK_DEADLINE, RequestRecord, RetryPolicy, encode_segment,
};
pub use config::LxcConfig;
pub use error::{
    ApiError, DIGEST_MISMATCH, LOCK_MESSAGES, SecretProblem, TASK_LOG_TAIL, TlsProblem,
    is_lock_message,
};
pub use phoenix_pveconf::api::{ApiNameError, Fingerprint, NodeName, TokenId};
pub use secret::{ApiToken, Secret};
pub use tls::{Trust, fingerprint_of};
pub use transport::{Method, RawResponse, Transport};
pub use types::{
    GuestKind, GuestResource, GuestState, LxcStatus, NodeResource, Resource, ResourceKind,
    StorageResource, TaskOutcome, Version,
};
