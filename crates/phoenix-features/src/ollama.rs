//! `ollama`: the Ollama server as a systemd service.
//!
//! Install: Ollama from the configured URL (`ollama.install_url`: the official Linux
//! tarball, extracted under `/usr`, or the official install script), only when
//! `/usr/bin/ollama` is missing or reports another `ollama.version`; the `ollama`
//! system user; the unit ([`crate::units::ollama_unit`]) and phoenix's drop-in with
//! the documented `OLLAMA_*` settings ([`crate::units::ollama_dropin`]); enabled and
//! started, restarted only when the unit or the drop-in changed. Verify: the
//! service is active and `GET /api/tags` answers with a model list.

use phoenix_config::model::ollama::OllamaSettings;
use serde_json::{Value, json};

use crate::FeatureError;
use crate::feature::{Check, CheckRun, Container, Feature, Probe, Request, Requirements, Suite};
use crate::staging::{Staged, StagedFile, run_staged};
use crate::units::{self, OLLAMA_DROPIN_PATH, OLLAMA_UNIT_PATH};
use crate::vllm::READY;

const INSTALL: &str = include_str!("../scripts/ollama.sh");

/// Where Ollama comes from when the config says nothing: the official tarball.
pub const DEFAULT_URL: &str = "https://ollama.com/download/ollama-linux-amd64.tgz";
/// How long verify waits for `/api/tags`.
pub const READY_SECONDS: u32 = 120;

/// The ollama feature.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ollama;

fn settings(req: &Request<'_>) -> OllamaSettings {
    req.container.ollama.clone().unwrap_or_default()
}

/// The drop-in's variables, in a stable order.
pub fn environment(s: &OllamaSettings) -> Vec<(String, String)> {
    let host = s
        .host
        .as_ref()
        .map(|h| h.to_string())
        .unwrap_or_else(|| "0.0.0.0".into());
    let mut v = vec![(
        "OLLAMA_HOST".to_owned(),
        format!("{host}:{}", s.port.unwrap_or(11434)),
    )];
    let b = |x: bool| if x { "1" } else { "0" }.to_owned();
    let mut put = |k: &str, val: Option<String>| {
        if let Some(val) = val {
            v.push((k.to_owned(), val));
        }
    };
    put(
        "OLLAMA_MODELS",
        s.models_dir.as_ref().map(|p| p.as_str().to_owned()),
    );
    put("OLLAMA_KEEP_ALIVE", s.keep_alive.clone());
    put("OLLAMA_NUM_PARALLEL", s.num_parallel.map(|n| n.to_string()));
    put(
        "OLLAMA_MAX_LOADED_MODELS",
        s.max_loaded_models.map(|n| n.to_string()),
    );
    put("OLLAMA_MAX_QUEUE", s.max_queue.map(|n| n.to_string()));
    put(
        "OLLAMA_CONTEXT_LENGTH",
        s.context_length.map(|n| n.to_string()),
    );
    put("OLLAMA_FLASH_ATTENTION", s.flash_attention.map(b));
    put(
        "OLLAMA_KV_CACHE_TYPE",
        s.kv_cache_type.map(|t| t.as_str().to_owned()),
    );
    put("OLLAMA_SCHED_SPREAD", s.sched_spread.map(b));
    if !s.origins.is_empty() {
        put(
            "OLLAMA_ORIGINS",
            Some(
                s.origins
                    .iter()
                    .map(|o| o.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        );
    }
    put("OLLAMA_DEBUG", s.debug.map(b));
    v
}

/// Host and port readiness is asked at.
fn probe_addr(s: &OllamaSettings) -> (String, u16) {
    let host = match s.host.as_ref().map(|h| h.to_string()) {
        None => "127.0.0.1".to_owned(),
        Some(h) if h == "0.0.0.0" => "127.0.0.1".to_owned(),
        Some(h) => h,
    };
    (host, s.port.unwrap_or(11434))
}

fn ready_args(s: &OllamaSettings, seconds: u32) -> Vec<String> {
    let (host, port) = probe_addr(s);
    vec![
        host,
        port.to_string(),
        "/api/tags".into(),
        "\"models\":".into(),
        seconds.to_string(),
    ]
}

fn url(s: &OllamaSettings) -> String {
    s.install_url
        .as_ref()
        .map(|u| u.as_str().to_owned())
        .unwrap_or_else(|| DEFAULT_URL.into())
}

fn dropin(req: &Request<'_>) -> Result<String, FeatureError> {
    units::ollama_dropin(&environment(&settings(req))).map_err(|e| FeatureError::Unsupported {
        feature: "ollama".into(),
        vmid: req.vmid,
        reason: e.to_string(),
    })
}

fn text(ct: &dyn Container, argv: &[&str]) -> Result<Option<String>, FeatureError> {
    let out = ct.exec(argv)?;
    Ok((out.code == 0).then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
}

impl Feature for Ollama {
    fn name(&self) -> &'static str {
        "ollama"
    }

    fn requirements(&self, req: &Request<'_>) -> Result<Requirements, FeatureError> {
        dropin(req)?;
        let mut r = Requirements::default();
        if req.has_feature(crate::NVIDIA) {
            r.features.push(crate::NVIDIA.into());
            r.reasons
                .push("ollama after nvidia: it finds the GPUs when it starts".into());
        }
        Ok(r)
    }

    fn describe(&self) -> &'static str {
        "Ollama from the official tarball or install script (ollama.install_url), the ollama user and unit, the OLLAMA_* settings in a systemd drop-in"
    }

    fn inputs(&self, req: &Request<'_>) -> Value {
        let s = settings(req);
        json!({
            "url": url(&s),
            "version": s.version.as_ref().map(|v| v.as_str()),
            "unit": units::ollama_unit(),
            "dropin": dropin(req).ok(),
        })
    }

    fn commands(&self, req: &Request<'_>) -> Vec<String> {
        let s = settings(req);
        let env: Vec<String> = environment(&s)
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let (host, port) = probe_addr(&s);
        vec![
            format!(
                "ollama.sh: download {} (only when /usr/bin/ollama is missing{})",
                url(&s),
                s.version
                    .as_ref()
                    .map(|v| format!(" or not {}", v.as_str()))
                    .unwrap_or_default()
            ),
            format!(
                "{OLLAMA_UNIT_PATH}, {OLLAMA_DROPIN_PATH}: {}",
                env.join(" ")
            ),
            "systemctl enable ollama, restart only when the unit or the drop-in changed".into(),
            format!("verify: GET http://{host}:{port}/api/tags"),
        ]
    }

    fn checks(&self, req: &Request<'_>) -> Vec<Check> {
        let args: Vec<String> = ready_args(&settings(req), 10)
            .iter()
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect();
        vec![
            Check {
                name: "ollama: service active".into(),
                suite: Suite::Health,
                run: CheckRun::Script("systemctl is-active ollama\n".into()),
            },
            Check {
                name: "ollama: /api/tags answers".into(),
                suite: Suite::Health,
                run: CheckRun::Script(format!("{READY}\nready {}\n", args.join(" "))),
            },
        ]
    }

    fn probe(&self, req: &Request<'_>, ct: &dyn Container) -> Result<Probe, FeatureError> {
        let s = settings(req);
        let Some(v) = text(ct, &["/usr/bin/ollama", "--version"])? else {
            return Ok(Probe::Missing("ollama is not installed".into()));
        };
        if let Some(want) = &s.version
            && !v.contains(want.as_str())
        {
            return Ok(Probe::Missing(format!(
                "ollama reports {v:?}, not {}",
                want.as_str()
            )));
        }
        if text(ct, &["cat", OLLAMA_UNIT_PATH])?.as_deref() != Some(units::ollama_unit().trim()) {
            return Ok(Probe::Missing(format!("{OLLAMA_UNIT_PATH} differs")));
        }
        if text(ct, &["cat", OLLAMA_DROPIN_PATH])?.as_deref() != Some(dropin(req)?.trim()) {
            return Ok(Probe::Missing(format!("{OLLAMA_DROPIN_PATH} differs")));
        }
        if text(ct, &["systemctl", "is-active", "ollama"])?.as_deref() != Some("active") {
            return Ok(Probe::Missing("the ollama service is not active".into()));
        }
        Ok(Probe::Converged)
    }

    fn install(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        let s = settings(req);
        run_staged(
            ct,
            &Staged {
                feature: "ollama".into(),
                script: INSTALL.into(),
                files: vec![
                    StagedFile {
                        path: "ollama.service".into(),
                        content: units::ollama_unit().into_bytes(),
                        mode: 0o644,
                    },
                    StagedFile {
                        path: "phoenix.conf".into(),
                        content: dropin(req)?.into_bytes(),
                        mode: 0o644,
                    },
                ],
                env: vec![
                    ("PHOENIX_OLLAMA_URL".into(), url(&s)),
                    (
                        "PHOENIX_OLLAMA_VERSION".into(),
                        s.version
                            .as_ref()
                            .map(|v| v.as_str().to_owned())
                            .unwrap_or_default(),
                    ),
                    (
                        "PHOENIX_OLLAMA_MODELS".into(),
                        s.models_dir
                            .as_ref()
                            .map(|p| p.as_str().to_owned())
                            .unwrap_or_default(),
                    ),
                ],
                ..Staged::default()
            },
        )
        .map(drop)
    }

    fn verify(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        let fail = |reason: String| FeatureError::Verify {
            feature: "ollama".into(),
            vmid: ct.vmid(),
            reason,
        };
        match self.probe(req, ct)? {
            Probe::Converged => {}
            Probe::Missing(why) => return Err(fail(why)),
        }
        run_staged(
            ct,
            &Staged {
                feature: "ollama-ready".into(),
                script: format!("{READY}\nready \"$@\"\n"),
                args: ready_args(&settings(req), READY_SECONDS),
                ..Staged::default()
            },
        )
        .map_err(|e| fail(format!("GET /api/tags: {e}")))?;
        Ok(())
    }
}
