//! `portainer`: the Portainer server or agent as a Docker container, per the
//! container's `portainer_role` (the role implies the feature; it needs docker).
//!
//! - server: `portainer/portainer-ce` (the hypervisor's
//!   `docker.portainer_server_image`), ports 9443 (or `network.portainer_server_port`)
//!   and 8000, the `portainer_data` volume, and the first-run admin password from the
//!   hypervisor's `portainer_api.admin_password` reference, mounted as a file for
//!   `--admin-password-file` (no setup token, no window in which anyone can claim the
//!   server). It registers every agent of the fleet as an environment through its API
//!   (`POST /api/endpoints`, after listing them: an agent already registered is left
//!   alone).
//! - agent: `portainer/agent` (`docker.portainer_agent_image`) on 9001 (or
//!   `network.portainer_agent_port`) with the Docker socket and
//!   `/var/lib/docker/volumes`.
//!
//! Verify: the server's `GET /api/system/status` answers with its version (`/api/status`
//! is deprecated); the agent's container runs and its port accepts connections.

use phoenix_config::model::container::PortainerRole;
use phoenix_config::{Fleet, SecretRef};
use serde::Serialize;
use serde_json::{Value, json};

use crate::FeatureError;
use crate::feature::{Check, CheckRun, Container, Feature, Probe, Request, Requirements, Suite};
use crate::staging::{Staged, StagedFile, run_staged};

const INSTALL: &str = include_str!("../scripts/portainer.sh");

/// The server image when the hypervisor names none.
pub const DEFAULT_SERVER_IMAGE: &str = "portainer/portainer-ce:latest";
/// The agent image when the hypervisor names none.
pub const DEFAULT_AGENT_IMAGE: &str = "portainer/agent:latest";

/// An agent of the fleet, as the server registers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    /// The environment's name (the container's hostname).
    pub name: String,
    /// `tcp://<ip>:<port>`.
    pub url: String,
}

/// The portainer feature, knowing the fleet's agents (for the server).
#[derive(Debug, Default, Clone)]
pub struct Portainer {
    agents: Vec<Agent>,
}

impl Portainer {
    /// The feature for `fleet`: its agents are every container whose role is agent.
    pub fn for_fleet(fleet: &Fleet) -> Self {
        let port = agent_port(&fleet.hypervisor);
        let agents = fleet
            .lxc
            .lxc_configs
            .values()
            .filter(|c| c.portainer_role == Some(PortainerRole::Agent))
            .map(|c| Agent {
                name: c.name.as_str().to_owned(),
                url: format!("tcp://{}:{port}", c.network_config.ip.addr()),
            })
            .collect();
        Portainer { agents }
    }
}

fn agent_port(h: &phoenix_config::HypervisorFile) -> u16 {
    h.network
        .as_ref()
        .and_then(|n| n.portainer_agent_port)
        .unwrap_or(9001)
}

fn server_port(h: &phoenix_config::HypervisorFile) -> u16 {
    h.network
        .as_ref()
        .and_then(|n| n.portainer_server_port)
        .unwrap_or(9443)
}

/// What this container runs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    role: &'static str,
    image: String,
    port: u16,
}

fn plan(req: &Request<'_>) -> Result<Plan, FeatureError> {
    let images = req.hypervisor.docker.as_ref();
    match req.container.portainer_role {
        Some(PortainerRole::Server) => {
            if req.hypervisor.portainer_api.is_none() {
                return Err(FeatureError::Unsupported {
                    feature: "portainer".into(),
                    vmid: req.vmid,
                    reason: "a Portainer server needs its first admin: set the hypervisor's portainer_api (admin_user, admin_password as {\"file\": ...})".into(),
                });
            }
            Ok(Plan {
                role: "server",
                image: images
                    .and_then(|d| d.portainer_server_image.clone())
                    .unwrap_or_else(|| DEFAULT_SERVER_IMAGE.into()),
                port: server_port(req.hypervisor),
            })
        }
        Some(PortainerRole::Agent) => Ok(Plan {
            role: "agent",
            image: images
                .and_then(|d| d.portainer_agent_image.clone())
                .unwrap_or_else(|| DEFAULT_AGENT_IMAGE.into()),
            port: agent_port(req.hypervisor),
        }),
        _ => Err(FeatureError::Unsupported {
            feature: "portainer".into(),
            vmid: req.vmid,
            reason: "portainer_role is neither server nor agent".into(),
        }),
    }
}

fn admin(req: &Request<'_>) -> Option<(String, SecretRef)> {
    req.hypervisor
        .portainer_api
        .as_ref()
        .map(|a| (a.admin_user.clone(), a.admin_password.clone()))
}

/// The docker container's name for a role.
fn container_name(role: &str) -> &'static str {
    if role == "server" {
        "portainer"
    } else {
        "portainer_agent"
    }
}

fn text(ct: &dyn Container, argv: &[&str]) -> Result<Option<String>, FeatureError> {
    let out = ct.exec(argv)?;
    Ok((out.code == 0).then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
}

impl Feature for Portainer {
    fn name(&self) -> &'static str {
        "portainer"
    }

    fn requirements(&self, req: &Request<'_>) -> Result<Requirements, FeatureError> {
        let p = plan(req)?;
        Ok(Requirements {
            features: vec![crate::DOCKER.into()],
            reasons: vec![format!(
                "the portainer {} runs as a docker container",
                p.role
            )],
            ..Requirements::default()
        })
    }

    fn describe(&self) -> &'static str {
        "the Portainer server (portainer-ce, 9443/8000, first admin from a file, the fleet's agents registered) or agent (9001), per portainer_role, through docker"
    }

    fn inputs(&self, req: &Request<'_>) -> Value {
        let p = plan(req).ok();
        let server = p.as_ref().is_some_and(|p| p.role == "server");
        json!({
            "role": p.as_ref().map(|p| p.role),
            "image": p.as_ref().map(|p| p.image.clone()),
            "port": p.as_ref().map(|p| p.port),
            "admin": if server { admin(req).map(|(u, s)| json!({"user": u, "password": s})) } else { None },
            "agents": if server { json!(self.agents) } else { json!([]) },
        })
    }

    fn commands(&self, req: &Request<'_>) -> Vec<String> {
        let Ok(p) = plan(req) else {
            return Vec::new();
        };
        let mut c = vec![format!(
            "portainer.sh: docker run -d --name {} {} (image pulled when missing; replaced when another image runs)",
            container_name(p.role),
            p.image
        )];
        if p.role == "server" {
            c.push(format!(
                "ports {}:9443 and 8000:8000, volume portainer_data, --admin-password-file from portainer_api.admin_password",
                p.port
            ));
            for a in &self.agents {
                c.push(format!(
                    "register agent {} ({}) through POST /api/endpoints unless listed",
                    a.name, a.url
                ));
            }
            c.push(format!(
                "verify: GET https://127.0.0.1:{}/api/system/status",
                p.port
            ));
        } else {
            c.push(format!(
                "port {}:9001, /var/run/docker.sock and /var/lib/docker/volumes mounted",
                p.port
            ));
            c.push(format!(
                "verify: the agent runs and 127.0.0.1:{} accepts connections",
                p.port
            ));
        }
        c
    }

    fn checks(&self, req: &Request<'_>) -> Vec<Check> {
        let Ok(p) = plan(req) else {
            return Vec::new();
        };
        let name = container_name(p.role);
        let mut v = vec![Check {
            name: format!("portainer: {} container runs", p.role),
            suite: Suite::Health,
            run: CheckRun::Script(format!(
                "state=$(docker inspect -f '{{{{.State.Running}}}}' {name})\necho \"{name} running: $state\"\n[ \"$state\" = true ]\n"
            )),
        }];
        if p.role == "server" {
            v.push(Check {
                name: "portainer: API status".into(),
                suite: Suite::Health,
                run: CheckRun::Script(format!(
                    "curl -fsSk https://127.0.0.1:{}/api/system/status | grep -q '\"Version\"'\necho Portainer API answers\n",
                    p.port
                )),
            });
        }
        v
    }

    fn probe(&self, req: &Request<'_>, ct: &dyn Container) -> Result<Probe, FeatureError> {
        let p = plan(req)?;
        let name = container_name(p.role);
        let seen = text(
            ct,
            &[
                "docker",
                "inspect",
                "-f",
                "{{.Config.Image}} {{.State.Running}}",
                name,
            ],
        )?;
        if seen.as_deref() != Some(format!("{} true", p.image).as_str()) {
            return Ok(Probe::Missing(format!(
                "the {name} container does not run {}",
                p.image
            )));
        }
        Ok(Probe::Converged)
    }

    fn install(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        let p = plan(req)?;
        let mut env = vec![
            ("PHOENIX_PORTAINER_ROLE".into(), p.role.to_owned()),
            ("PHOENIX_PORTAINER_IMAGE".into(), p.image.clone()),
            ("PHOENIX_PORTAINER_PORT".into(), p.port.to_string()),
        ];
        let mut files = Vec::new();
        if p.role == "server" {
            let Some((user, secret)) = admin(req) else {
                return Err(FeatureError::Unsupported {
                    feature: "portainer".into(),
                    vmid: req.vmid,
                    reason: "no portainer_api admin".into(),
                });
            };
            env.push(("PHOENIX_PORTAINER_ADMIN".into(), user));
            files.push(StagedFile {
                path: "admin.pass".into(),
                content: ct.secret(&secret)?.into_bytes(),
                mode: 0o600,
            });
            let agents: String = self
                .agents
                .iter()
                .map(|a| format!("{} {}\n", a.name, a.url))
                .collect();
            files.push(StagedFile {
                path: "agents.txt".into(),
                content: agents.into_bytes(),
                mode: 0o644,
            });
        }
        run_staged(
            ct,
            &Staged {
                feature: "portainer".into(),
                script: INSTALL.into(),
                files,
                env,
                ..Staged::default()
            },
        )
        .map(drop)
    }

    fn verify(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        let p = plan(req)?;
        let fail = |reason: String| FeatureError::Verify {
            feature: "portainer".into(),
            vmid: ct.vmid(),
            reason,
        };
        if let Probe::Missing(why) = self.probe(req, ct)? {
            return Err(fail(why));
        }
        let argv: Vec<String> = if p.role == "server" {
            vec![
                "curl".into(),
                "-fsSk".into(),
                "--retry".into(),
                "30".into(),
                "--retry-connrefused".into(),
                "--retry-delay".into(),
                "2".into(),
                format!("https://127.0.0.1:{}/api/system/status", p.port),
            ]
        } else {
            vec![
                "timeout".into(),
                "60".into(),
                "bash".into(),
                "-c".into(),
                "until (exec 3<>\"/dev/tcp/127.0.0.1/$0\") 2>/dev/null; do sleep 1; done".into(),
                p.port.to_string(),
            ]
        };
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = ct.exec(&argv)?;
        if out.code != 0 {
            return Err(fail(format!(
                "{} does not answer: {}",
                if p.role == "server" {
                    "GET /api/system/status"
                } else {
                    "the agent's port"
                },
                crate::staging::last_lines(&out, 5)
            )));
        }
        if p.role == "server" && !String::from_utf8_lossy(&out.stdout).contains("\"Version\"") {
            return Err(fail("GET /api/system/status has no Version".into()));
        }
        Ok(())
    }
}
