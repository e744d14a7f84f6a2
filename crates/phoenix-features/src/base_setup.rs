//! `base_setup`: what every container gets: the time zone (the hypervisor's), a UTF-8
//! locale and the base packages; idempotent (a second run installs nothing).

use serde_json::Value;

use crate::FeatureError;
use crate::feature::{Container, Feature, Probe, Request, Requirements};
use crate::staging::{Staged, run_staged};

const SCRIPT: &str = include_str!("../scripts/base_setup.sh");

/// The packages `base_setup` installs.
pub const BASE_PACKAGES: &[&str] = &["ca-certificates", "curl", "gnupg", "jq", "less", "procps"];

/// The locale `base_setup` generates and sets.
pub const LOCALE: &str = "en_US.UTF-8";

/// The base_setup feature.
#[derive(Debug, Default, Clone, Copy)]
pub struct BaseSetup;

fn timezone(req: &Request<'_>) -> String {
    req.hypervisor
        .timezone
        .as_ref()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_else(|| "UTC".into())
}

impl Feature for BaseSetup {
    fn name(&self) -> &'static str {
        "base_setup"
    }

    fn requirements(&self, _req: &Request<'_>) -> Result<Requirements, FeatureError> {
        Ok(Requirements::default())
    }

    fn describe(&self) -> &'static str {
        "the time zone (the hypervisor's), the en_US.UTF-8 locale and the base packages (ca-certificates, curl, gnupg, jq, less, procps)"
    }

    fn commands(&self, req: &Request<'_>) -> Vec<String> {
        vec![
            format!(
                "base_setup.sh: apt-get install locales tzdata {} (those missing)",
                BASE_PACKAGES.join(" ")
            ),
            format!("/etc/localtime -> {}, /etc/timezone", timezone(req)),
            format!("locale-gen {LOCALE}, /etc/default/locale"),
        ]
    }

    fn inputs(&self, req: &Request<'_>) -> Value {
        serde_json::json!({"timezone": timezone(req), "locale": LOCALE, "packages": BASE_PACKAGES})
    }

    fn probe(&self, req: &Request<'_>, ct: &dyn Container) -> Result<Probe, FeatureError> {
        let out = ct.exec(&["cat", "/etc/timezone"])?;
        if out.code != 0 || String::from_utf8_lossy(&out.stdout).trim() != timezone(req) {
            return Ok(Probe::Missing("time zone not set".into()));
        }
        let mut argv = vec!["dpkg-query", "-W", "-f=${Status}\n"];
        argv.extend(BASE_PACKAGES);
        let out = ct.exec(&argv)?;
        let installed = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| *l == "install ok installed")
            .count();
        if out.code != 0 || installed != BASE_PACKAGES.len() {
            return Ok(Probe::Missing("base packages missing".into()));
        }
        Ok(Probe::Converged)
    }

    fn install(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        run_staged(
            ct,
            &Staged {
                feature: "base_setup".into(),
                script: SCRIPT.into(),
                env: vec![
                    ("PHOENIX_TIMEZONE".into(), timezone(req)),
                    ("PHOENIX_LOCALE".into(), LOCALE.into()),
                    ("PHOENIX_PACKAGES".into(), BASE_PACKAGES.join(" ")),
                ],
                ..Staged::default()
            },
        )
        .map(drop)
    }

    fn verify(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        match self.probe(req, ct)? {
            Probe::Converged => Ok(()),
            Probe::Missing(reason) => Err(FeatureError::Verify {
                feature: "base_setup".into(),
                vmid: ct.vmid(),
                reason,
            }),
        }
    }
}
