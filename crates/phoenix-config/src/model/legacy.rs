//! Container fields the bash-era files carry: firewall, storage volumes, vLLM
//! settings and the old health-check and test shapes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::names::{AbsPath, PortList, RuleComment, ScriptPath, StorageId};
use crate::net::{Ipv4, Ipv4Cidr};

/// Proxmox firewall settings of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    /// Enable the firewall on the container's interface.
    pub enabled: bool,
    /// Rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<FirewallRule>,
}

/// One firewall rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirewallRule {
    /// Direction.
    #[serde(rename = "type")]
    pub direction: Direction,
    /// What to do with matching packets.
    pub action: FirewallAction,
    /// Source address or subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<AddressOrSubnet>,
    /// Destination address or subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest: Option<AddressOrSubnet>,
    /// Protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<Protocol>,
    /// Destination ports: one port, a range or a comma list (`80`, `8000:8010`,
    /// `80,443`), as pve-firewall's `-dport` takes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortList>,
    /// Why the rule exists; Proxmox shows it after `#` on the rule's line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<RuleComment>,
}

impl FirewallRule {
    /// The rule as a line of Proxmox's guest firewall file (`/etc/pve/firewall/<id>.fw`):
    ///
    /// ```
    /// use phoenix_config::model::legacy::FirewallRule;
    /// let r: FirewallRule = serde_json::from_str(r#"{"type": "in", "action": "ACCEPT",
    ///     "source": "10.0.0.10", "proto": "tcp", "port": "80,443", "comment": "ACME"}"#).unwrap();
    /// assert_eq!(r.to_pve_rule().render(), "IN ACCEPT -source 10.0.0.10 -p tcp -dport 80,443 # ACME");
    /// ```
    pub fn to_pve_rule(&self) -> phoenix_pveconf::firewall::FwRule {
        use phoenix_pveconf::firewall::{Direction as D, FwRule};
        let direction = match self.direction {
            Direction::In => D::In,
            Direction::Out => D::Out,
        };
        let action = match self.action {
            FirewallAction::Accept => "ACCEPT",
            FirewallAction::Drop => "DROP",
            FirewallAction::Reject => "REJECT",
        };
        let addr = |a: &Option<AddressOrSubnet>| {
            a.as_ref().map(|a| match a {
                AddressOrSubnet::Address(ip) => ip.to_string(),
                AddressOrSubnet::Subnet(net) => net.to_string(),
            })
        };
        let mut rule = FwRule::new(direction, action);
        rule.source = addr(&self.source);
        rule.dest = addr(&self.dest);
        rule.proto = self.proto.map(|p| {
            match p {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
                Protocol::Icmp => "icmp",
            }
            .to_owned()
        });
        rule.dport = self.port.as_ref().map(ToString::to_string);
        rule.comment = self.comment.as_ref().map(ToString::to_string);
        rule
    }

    /// The rule without its comment: two rules with the same match are the same
    /// rule to the firewall, whatever their comments say.
    pub fn matcher(&self) -> FirewallRule {
        FirewallRule {
            comment: None,
            ..self.clone()
        }
    }
}

/// An address (`10.0.0.153`) or a subnet (`10.0.0.0/24`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AddressOrSubnet {
    /// One address.
    Address(Ipv4),
    /// A subnet.
    Subnet(Ipv4Cidr),
}

/// Firewall rule direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Incoming traffic.
    In,
    /// Outgoing traffic.
    Out,
}

/// Firewall verdicts (also the hypervisor's default policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum FirewallAction {
    /// Let the packet through.
    Accept,
    /// Drop it silently.
    Drop,
    /// Drop it and tell the sender.
    Reject,
}

/// Firewall protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP.
    Icmp,
}

/// A storage volume allocated on a Proxmox storage and mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageVolume {
    /// A name for the volume.
    pub name: String,
    /// The storage to allocate it on.
    pub pool: StorageId,
    /// Size in GB (at least 1).
    #[schemars(range(min = 1))]
    pub size_gb: u32,
    /// Where it is mounted in the container.
    pub mount_point: AbsPath,
}

/// Bash era: a shell health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LegacyHealthCheck {
    /// The command, run by a shell inside the container (bash era; phoenix's own
    /// checks are scripts in `tests`).
    pub command: String,
    /// Attempts before giving up.
    pub retries: u32,
    /// Seconds between attempts.
    pub interval: u32,
}

/// Bash era: an integration test script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LegacyIntegrationTests {
    /// The script, relative to the tests directory.
    pub script: ScriptPath,
}

/// vLLM model kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VllmModelType {
    /// A chat/completions model.
    Chat,
    /// An embedding model.
    Embedding,
}

/// vLLM engine parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VllmParameters {
    /// Weight data type (`float16`, `bfloat16`, `auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<String>,
    /// KV cache data type (`auto`, `fp8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_dtype: Option<String>,
    /// Maximum context length in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_model_len: Option<u32>,
    /// Fraction of GPU memory to use, in (0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gpu_memory_utilization: Option<f64>,
    /// Maximum tokens per batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_num_batched_tokens: Option<u32>,
    /// Maximum concurrent sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_num_seqs: Option<u32>,
}
