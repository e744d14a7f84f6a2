//! Sections the newest bash-era files carry for services around the guests:
//! Traefik routes, the Portainer API, the Step CA, the host DNS server, NFS
//! volumes of VMs and DNS records. phoenix reads them (so a typo is caught and the
//! values are typed for the orchestrator) but does not act on them yet; `validate`
//! says so with a warning at each one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::secret::SecretRef;
use crate::names::{AbsPath, Hostname};
use crate::net::Ipv4;

/// How the internal Traefik proxy routes to a guest (old system: a router and
/// service named `name` pointing at the guest's address and `port`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraefikService {
    /// The service name; Traefik serves it as `<name>.<domain_name>`.
    pub name: Hostname,
    /// The guest port Traefik forwards to.
    #[schemars(range(min = 1))]
    pub port: u16,
}

/// The Portainer API phoenix (old system) logs in to for stack deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortainerApi {
    /// The admin login.
    pub admin_user: String,
    /// The admin password: better `{"file": ...}` or `{"env": ...}` than written here.
    pub admin_password: SecretRef,
    /// The host name Portainer is reached at (through the gateway).
    pub portainer_hostname: Hostname,
}

/// The internal certificate authority (Smallstep `step-ca`, container 103 in the
/// old fleet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepCa {
    /// Name of the root certificate.
    pub root_ca_name: String,
    /// Name of the intermediate certificate.
    pub intermediate_ca_name: String,
    /// The CA's DNS name.
    pub dns_name: Hostname,
    /// The ACME/JWK provisioner's name (an e-mail address in the old files).
    pub provisioner_name: String,
}

/// The DNS server on the host (old system: dnsmasq serving the guests' names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsServer {
    /// Run it.
    pub enabled: bool,
    /// Where queries for other names are forwarded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream_servers: Vec<Ipv4>,
    /// Zones the server answers for itself, by domain name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authoritative_zones: Vec<Hostname>,
}

/// Host-wide VM defaults of the hypervisor file (old system).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostVmDefaults {
    /// The Ubuntu release cloud images are taken from (`noble`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ubuntu_release: Option<String>,
}

/// How a ZFS dataset is used (old system): by one guest's disks, or shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageClass {
    /// Holds guest disks directly (a Proxmox storage).
    Direct,
    /// Shared between guests (bind mounts, NFS, Samba).
    Shared,
}

/// A volume mounted into a VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmVolume {
    /// The kind of volume; only NFS.
    #[serde(rename = "type")]
    pub kind: VmVolumeKind,
    /// A name for the volume.
    pub name: String,
    /// The exported path on the server.
    pub path: AbsPath,
    /// Where it is mounted in the VM.
    pub mount_point: AbsPath,
    /// The NFS server's address.
    pub server: Ipv4,
}

/// Kinds of VM volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VmVolumeKind {
    /// An NFS export mounted by the VM.
    Nfs,
}

/// A DNS record published for a guest (an `A` record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsRecord {
    /// The name.
    pub hostname: Hostname,
    /// The address it resolves to.
    pub ip: Ipv4,
}
