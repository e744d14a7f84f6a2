//! Features phoenix knows the requirements of, whether or not it has their installer
//! yet. What they need is said here, once, with the reason, instead of in the
//! orchestrator.

use phoenix_pveconf::props::Features;

use crate::feature::{AppArmorRequirement, Request, Requirements};

/// Docker in an unprivileged container needs nesting (nested namespaces and AppArmor
/// stacking), keyctl (containerd's session keyrings) and fuse (fuse-overlayfs, the
/// storage driver that works on every backing file system in a user namespace), and
/// the `lxc-docker-secure` profile, which allows what runc needs and nothing more.
pub const DOCKER: &str = "docker";

/// NVIDIA GPUs: the `lxc-phoenix-gpu` profile (device access) unless the config
/// names another one.
pub const NVIDIA: &str = "nvidia";

/// Names of features the old system used that phoenix knows but cannot install yet.
pub const KNOWN_WITHOUT_INSTALLER: &[&str] = &[
    DOCKER,
    NVIDIA,
    "base_setup",
    "vllm",
    "ollama",
    "portainer",
    "python_ai",
    "trusted_ca",
    "step_cli",
    "step_ca",
    "traefik",
];

/// The requirements of a built-in feature without an installer, `None` for a name it
/// does not know.
pub fn requirements(name: &str, request: &Request<'_>) -> Option<Requirements> {
    match name {
        DOCKER => {
            let mut r = Requirements {
                pct_features: Features {
                    nesting: Some(true),
                    keyctl: Some(true),
                    fuse: Some(true),
                    ..Features::default()
                },
                apparmor: Some(AppArmorRequirement {
                    profile: "lxc-docker-secure".into(),
                    overrides_config: false,
                }),
                ..Requirements::default()
            };
            r.reasons = vec![
                "nesting=1: docker runs nested namespaces".into(),
                "keyctl=1: containerd creates session keyrings".into(),
                "fuse=1: the fuse-overlayfs storage driver".into(),
                "apparmor lxc-docker-secure: what runc needs, nothing more".into(),
            ];
            if request.has_feature(NVIDIA) {
                r.features.push(NVIDIA.into());
            }
            Some(r)
        }
        NVIDIA => Some(Requirements {
            apparmor: Some(AppArmorRequirement {
                profile: "lxc-phoenix-gpu".into(),
                overrides_config: false,
            }),
            reasons: vec!["apparmor lxc-phoenix-gpu: access to the NVIDIA device nodes".into()],
            ..Requirements::default()
        }),
        "vllm" => Some(Requirements {
            features: vec![NVIDIA.into()],
            reasons: vec!["vllm runs on the NVIDIA driver".into()],
            ..Requirements::default()
        }),
        n if KNOWN_WITHOUT_INSTALLER.contains(&n) => Some(Requirements::default()),
        _ => None,
    }
}
