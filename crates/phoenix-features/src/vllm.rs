//! `vllm`: vLLM's OpenAI-compatible server as a systemd service.
//!
//! Settings come from the container's `vllm_engine_config` (the canonical shape) and
//! the bash era's flat `vllm_*` keys and `vllm_parameters`; where two of them say
//! different things the plan stops and names both (`phoenix config upgrade` leaves
//! such a pair alone rather than choose, and so does phoenix). Install: a Python
//! virtual environment `/opt/phoenix/vllm` with `vllm==<vllm_version>` (pip, only
//! when the installed version differs), the `vllm` system user, the unit rendered by
//! [`crate::units::vllm_unit`] (ExecStart an argv, never a shell line), `HF_TOKEN`
//! from a secret reference in `/etc/phoenix/vllm.env` (0600), enabled and started;
//! the service restarts only when its unit or environment file changed. Verify: the
//! service is active and `GET /v1/models` lists the served model name (`/health`
//! only says the process is up). A container with the feature and no model gets the
//! virtual environment only (a template).

use phoenix_config::{Container as CtConfig, SecretRef};
use serde_json::{Value, json};

use crate::FeatureError;
use crate::feature::{Check, CheckRun, Container, Feature, Probe, Request, Requirements, Suite};
use crate::staging::{Staged, StagedFile, run_staged};
use crate::units::{self, VLLM_UNIT_PATH, VllmUnit};

const INSTALL: &str = include_str!("../scripts/vllm.sh");
/// The readiness probe shared by vllm, ollama and portainer (bash `/dev/tcp`, no
/// curl needed).
pub(crate) const READY: &str = include_str!("../scripts/http-ready.sh");

/// The virtual environment.
pub const VENV: &str = "/opt/phoenix/vllm";
/// The service's home (and Hugging Face cache under it).
pub const HOME: &str = "/var/lib/vllm";
/// The EnvironmentFile with the secrets.
pub const ENV_FILE: &str = "/etc/phoenix/vllm.env";
/// How long verify waits for the model list (loading weights takes minutes).
pub const READY_SECONDS: u32 = 900;

/// The vllm feature.
#[derive(Debug, Default, Clone, Copy)]
pub struct Vllm;

/// What the service runs with, resolved from the config.
#[derive(Debug, Clone, PartialEq)]
pub struct VllmSettings {
    /// The model (Hugging Face id).
    pub model: String,
    /// The name the API serves (the model when absent).
    pub served_model_name: Option<String>,
    /// The listen address.
    pub host: String,
    /// The port.
    pub port: u16,
    /// `--tensor-parallel-size`.
    pub tensor_parallel_size: Option<u32>,
    /// `--max-model-len`.
    pub max_model_len: Option<u32>,
    /// `--gpu-memory-utilization`.
    pub gpu_memory_utilization: Option<f64>,
    /// `--quantization`.
    pub quantization: Option<String>,
    /// `--dtype`.
    pub dtype: Option<String>,
    /// `--kv-cache-dtype`.
    pub kv_cache_dtype: Option<String>,
    /// `--max-num-batched-tokens`.
    pub max_num_batched_tokens: Option<u32>,
    /// `--max-num-seqs`.
    pub max_num_seqs: Option<u32>,
    /// `--trust-remote-code`.
    pub trust_remote_code: bool,
    /// Extra arguments, after phoenix's (the ones repeating a flag phoenix
    /// renders with the same value are left out).
    pub extra_args: Vec<String>,
}

impl VllmSettings {
    /// The name clients ask for (`/v1/models` lists it).
    pub fn served_name(&self) -> &str {
        self.served_model_name.as_deref().unwrap_or(&self.model)
    }

    /// The server's arguments after `vllm`.
    pub fn args(&self) -> Vec<String> {
        let mut a = vec!["serve".to_owned(), self.model.clone()];
        let mut opt = |flag: &str, v: Option<String>| {
            if let Some(v) = v {
                a.push(flag.to_owned());
                a.push(v);
            }
        };
        opt("--host", Some(self.host.clone()));
        opt("--port", Some(self.port.to_string()));
        opt("--served-model-name", self.served_model_name.clone());
        opt(
            "--tensor-parallel-size",
            self.tensor_parallel_size.map(|v| v.to_string()),
        );
        opt("--max-model-len", self.max_model_len.map(|v| v.to_string()));
        opt(
            "--gpu-memory-utilization",
            self.gpu_memory_utilization.map(|v| v.to_string()),
        );
        opt("--quantization", self.quantization.clone());
        opt("--dtype", self.dtype.clone());
        opt("--kv-cache-dtype", self.kv_cache_dtype.clone());
        opt(
            "--max-num-batched-tokens",
            self.max_num_batched_tokens.map(|v| v.to_string()),
        );
        opt("--max-num-seqs", self.max_num_seqs.map(|v| v.to_string()));
        if self.trust_remote_code {
            a.push("--trust-remote-code".into());
        }
        a.extend(self.extra_args.iter().cloned());
        a
    }

    /// Where readiness is asked: the listen address, or loopback for `0.0.0.0`.
    pub fn probe_host(&self) -> &str {
        if self.host == "0.0.0.0" {
            "127.0.0.1"
        } else {
            &self.host
        }
    }
}

/// Why the vllm settings cannot be read: two places say different things.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VllmSettingsError {
    /// One setting is given in two places with different values.
    #[error(
        "{first} says {first_value} but {second} says {second_value}: phoenix does not choose between them; remove one (phoenix config upgrade moves what agrees)"
    )]
    Conflict {
        /// The setting (`max_model_len`).
        setting: &'static str,
        /// The first place that gives it (`vllm_engine_config.ModelConfig.max_model_len`).
        first: &'static str,
        /// Its value there, as written (`8192`, `"m"`).
        first_value: String,
        /// The place that disagrees (`vllm_max_model_len`).
        second: &'static str,
        /// Its value there.
        second_value: String,
    },
    /// `vllm_engine_config.ServerConfig.extra_args` and `vllm_args` are both given
    /// and differ.
    #[error(
        "vllm_engine_config.ServerConfig.extra_args and vllm_args differ: phoenix does not choose between them; remove one"
    )]
    ExtraArgsDiffer {
        /// `vllm_engine_config.ServerConfig.extra_args`.
        engine: Vec<String>,
        /// `vllm_args`.
        legacy: Vec<String>,
    },
    /// `vllm_args` gives a flag phoenix renders from the settings, with another value.
    #[error(
        "vllm_args gives {flag} {} but the settings say {want}: phoenix does not choose between them",
        .given.as_deref().unwrap_or("(nothing)")
    )]
    FlagConflict {
        /// The flag (`--port`).
        flag: String,
        /// The value `vllm_args` gives (`None`: the flag is last, with no value).
        given: Option<String>,
        /// The value the settings give.
        want: String,
    },
}

/// One setting from its places, in the order `vllm_engine_config`, flat key,
/// `vllm_parameters`: the first present, or a conflict naming both.
fn pick<T: PartialEq + std::fmt::Debug + Clone>(
    places: &[(&'static str, Option<T>)],
) -> Result<Option<T>, VllmSettingsError> {
    let mut found: Option<(&'static str, T)> = None;
    for (name, v) in places {
        let Some(v) = v else { continue };
        match &found {
            None => found = Some((name, v.clone())),
            Some((first, f)) if f != v => {
                return Err(VllmSettingsError::Conflict {
                    // Every setting's first place is `vllm_engine_config.<Section>.<name>`.
                    setting: first.rsplit('.').next().unwrap_or(first),
                    first,
                    first_value: format!("{f:?}"),
                    second: name,
                    second_value: format!("{v:?}"),
                });
            }
            Some(_) => {}
        }
    }
    Ok(found.map(|(_, v)| v))
}

/// The service's settings; `Ok(None)` when no model is configured (the virtual
/// environment only); `Err` names two places that disagree.
pub fn settings(ct: &CtConfig) -> Result<Option<VllmSettings>, VllmSettingsError> {
    let e = ct.vllm_engine_config.clone().unwrap_or_default();
    let (m, c, p, sch, srv) = (
        e.model.unwrap_or_default(),
        e.cache.unwrap_or_default(),
        e.parallel.unwrap_or_default(),
        e.scheduler.unwrap_or_default(),
        e.server.unwrap_or_default(),
    );
    let params = ct.vllm_parameters.clone();
    let pv = |f: fn(&phoenix_config::model::legacy::VllmParameters) -> Option<u32>| {
        params.as_ref().and_then(f)
    };
    let Some(model) = pick(&[
        ("vllm_engine_config.ModelConfig.model", m.model),
        ("vllm_model", ct.vllm_model.clone()),
    ])?
    else {
        return Ok(None);
    };
    let mut s = VllmSettings {
        model,
        served_model_name: pick(&[
            (
                "vllm_engine_config.ServerConfig.served_model_name",
                srv.served_model_name,
            ),
            ("vllm_served_model_name", ct.vllm_served_model_name.clone()),
        ])?,
        host: srv
            .host
            .map(|h| h.to_string())
            .unwrap_or_else(|| "0.0.0.0".into()),
        port: pick(&[
            ("vllm_engine_config.ServerConfig.port", srv.port),
            ("vllm_port", ct.vllm_port),
        ])?
        .unwrap_or(8000),
        tensor_parallel_size: pick(&[
            (
                "vllm_engine_config.ParallelConfig.tensor_parallel_size",
                p.tensor_parallel_size,
            ),
            ("vllm_tensor_parallel_size", ct.vllm_tensor_parallel_size),
        ])?,
        max_model_len: pick(&[
            (
                "vllm_engine_config.ModelConfig.max_model_len",
                m.max_model_len,
            ),
            ("vllm_max_model_len", ct.vllm_max_model_len),
            ("vllm_parameters.max_model_len", pv(|p| p.max_model_len)),
        ])?,
        gpu_memory_utilization: pick(&[
            (
                "vllm_engine_config.CacheConfig.gpu_memory_utilization",
                c.gpu_memory_utilization,
            ),
            (
                "vllm_gpu_memory_utilization",
                ct.vllm_gpu_memory_utilization,
            ),
            (
                "vllm_parameters.gpu_memory_utilization",
                params.as_ref().and_then(|p| p.gpu_memory_utilization),
            ),
        ])?,
        quantization: pick(&[
            (
                "vllm_engine_config.CacheConfig.quantization",
                c.quantization,
            ),
            ("vllm_quantization", ct.vllm_quantization.clone()),
        ])?,
        dtype: pick(&[
            ("vllm_engine_config.ModelConfig.dtype", m.dtype),
            (
                "vllm_parameters.dtype",
                params.as_ref().and_then(|p| p.dtype.clone()),
            ),
        ])?,
        kv_cache_dtype: pick(&[
            (
                "vllm_engine_config.CacheConfig.kv_cache_dtype",
                c.kv_cache_dtype,
            ),
            (
                "vllm_parameters.kv_cache_dtype",
                params.as_ref().and_then(|p| p.kv_cache_dtype.clone()),
            ),
        ])?,
        max_num_batched_tokens: pick(&[
            (
                "vllm_engine_config.SchedulerConfig.max_num_batched_tokens",
                sch.max_num_batched_tokens,
            ),
            (
                "vllm_parameters.max_num_batched_tokens",
                pv(|p| p.max_num_batched_tokens),
            ),
        ])?,
        max_num_seqs: pick(&[
            (
                "vllm_engine_config.SchedulerConfig.max_num_seqs",
                sch.max_num_seqs,
            ),
            ("vllm_parameters.max_num_seqs", pv(|p| p.max_num_seqs)),
        ])?,
        trust_remote_code: pick(&[
            (
                "vllm_engine_config.ModelConfig.trust_remote_code",
                m.trust_remote_code,
            ),
            ("vllm_trust_remote_code", ct.vllm_trust_remote_code),
        ])?
        .unwrap_or(false),
        extra_args: Vec::new(),
    };
    let extra = if srv.extra_args.is_empty() {
        ct.vllm_args.clone()
    } else if ct.vllm_args.is_empty() || ct.vllm_args == srv.extra_args {
        srv.extra_args
    } else {
        return Err(VllmSettingsError::ExtraArgsDiffer {
            engine: srv.extra_args,
            legacy: ct.vllm_args.clone(),
        });
    };
    s.extra_args = dedupe_extra(&s, &extra)?;
    Ok(Some(s))
}

/// Drops from `extra` the flags phoenix already renders with the same value; a flag
/// phoenix renders with another value is a conflict.
fn dedupe_extra(s: &VllmSettings, extra: &[String]) -> Result<Vec<String>, VllmSettingsError> {
    let rendered = s.args();
    let value_of = |flag: &str| -> Option<Option<&str>> {
        let i = rendered.iter().position(|a| a == flag)?;
        if flag == "--trust-remote-code" {
            return Some(None);
        }
        Some(rendered.get(i + 1).map(String::as_str))
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < extra.len() {
        let a = &extra[i];
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (a.as_str(), None),
        };
        match value_of(flag) {
            Some(None) => i += 1,
            Some(Some(want)) => {
                let (given, used) = match inline {
                    Some(v) => (Some(v), 1),
                    None => (extra.get(i + 1).map(String::as_str), 2),
                };
                let same = given == Some(want)
                    || given
                        .and_then(|g| g.parse::<f64>().ok())
                        .zip(want.parse::<f64>().ok())
                        .is_some_and(|(g, w)| g == w);
                if !same {
                    return Err(VllmSettingsError::FlagConflict {
                        flag: flag.to_owned(),
                        given: given.map(str::to_owned),
                        want: want.to_owned(),
                    });
                }
                i += used;
            }
            None => {
                out.push(a.clone());
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The version installed: the container's pin, else phoenix's default.
pub fn version(ct: &CtConfig) -> String {
    ct.vllm_version
        .as_ref()
        .map(|v| v.as_str().to_owned())
        .unwrap_or_else(|| phoenix_config::features::VLLM_DEFAULT_VERSION.into())
}

/// The Hugging Face token's reference: the container's, else the hypervisor's
/// token file.
pub fn hf_token(req: &Request<'_>) -> Option<SecretRef> {
    req.container.vllm_hf_token.clone().or_else(|| {
        let path = req.hypervisor.core_paths.as_ref()?.hf_token_file.as_str();
        serde_json::from_value(json!({ "file": path })).ok()
    })
}

/// The unit for these settings.
pub fn unit(s: &VllmSettings, with_env_file: bool) -> VllmUnit {
    let mut argv = vec![format!("{VENV}/bin/vllm")];
    argv.extend(s.args());
    VllmUnit {
        model: s.model.clone(),
        argv,
        env_file: with_env_file.then(|| ENV_FILE.to_owned()),
        home: HOME.into(),
    }
}

fn unsupported(vmid: u32, reason: String) -> FeatureError {
    FeatureError::Unsupported {
        feature: "vllm".into(),
        vmid,
        reason,
    }
}

/// The rendered unit, or why it cannot be.
fn rendered(req: &Request<'_>) -> Result<Option<(VllmSettings, String)>, FeatureError> {
    let Some(s) = settings(req.container).map_err(|source| FeatureError::Vllm {
        vmid: req.vmid,
        source: Box::new(source),
    })?
    else {
        return Ok(None);
    };
    let text = units::vllm_unit(&unit(&s, hf_token(req).is_some()))
        .map_err(|e| unsupported(req.vmid, e.to_string()))?;
    Ok(Some((s, text)))
}

/// The readiness script's arguments: host, port, path, the text the answer must
/// hold, seconds to wait.
fn ready_args(s: &VllmSettings, seconds: u32) -> Vec<String> {
    vec![
        s.probe_host().to_owned(),
        s.port.to_string(),
        "/v1/models".into(),
        format!("\"id\":\"{}\"", s.served_name()),
        seconds.to_string(),
    ]
}

fn text(ct: &dyn Container, argv: &[&str]) -> Result<Option<String>, FeatureError> {
    let out = ct.exec(argv)?;
    Ok((out.code == 0).then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
}

impl Feature for Vllm {
    fn name(&self) -> &'static str {
        "vllm"
    }

    fn requirements(&self, req: &Request<'_>) -> Result<Requirements, FeatureError> {
        rendered(req)?;
        Ok(Requirements {
            features: vec![crate::NVIDIA.into()],
            reasons: vec!["vllm runs on the NVIDIA driver".into()],
            ..Requirements::default()
        })
    }

    fn describe(&self) -> &'static str {
        "vLLM in a Python virtual environment (/opt/phoenix/vllm, the pinned vllm_version), the vllm systemd unit rendered from the vllm settings, HF_TOKEN in a 0600 EnvironmentFile"
    }

    fn inputs(&self, req: &Request<'_>) -> Value {
        let unit = rendered(req).ok().flatten().map(|(_, u)| u);
        json!({
            "version": version(req.container),
            "unit": unit,
            "hf_token": hf_token(req),
        })
    }

    fn commands(&self, req: &Request<'_>) -> Vec<String> {
        let mut c = vec![format!(
            "vllm.sh: python3 -m venv {VENV}; {VENV}/bin/pip install vllm=={} (only when another version is installed)",
            version(req.container)
        )];
        if let Ok(Some((s, _))) = rendered(req) {
            c.push(format!(
                "{VLLM_UNIT_PATH} (ExecStart={VENV}/bin/vllm {}), systemctl enable vllm, restart only when the unit changed",
                s.args().join(" ")
            ));
            if hf_token(req).is_some() {
                c.push(format!("{ENV_FILE} (0600): HF_TOKEN from its reference"));
            }
            c.push(format!(
                "verify: GET http://{}:{}/v1/models lists {}",
                s.probe_host(),
                s.port,
                s.served_name()
            ));
        } else {
            c.push("no model configured: the virtual environment only".into());
        }
        c
    }

    fn checks(&self, req: &Request<'_>) -> Vec<Check> {
        let Ok(Some((s, _))) = rendered(req) else {
            return Vec::new();
        };
        vec![
            Check {
                name: "vllm: service active".into(),
                suite: Suite::Health,
                run: CheckRun::Script("systemctl is-active vllm\n".into()),
            },
            Check {
                name: "vllm: the model list serves the model".into(),
                suite: Suite::Health,
                run: CheckRun::Script(format!(
                    "{}\nready {}\n",
                    READY,
                    ready_args(&s, 10)
                        .iter()
                        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
            },
        ]
    }

    fn probe(&self, req: &Request<'_>, ct: &dyn Container) -> Result<Probe, FeatureError> {
        let have = text(
            ct,
            &[
                &format!("{VENV}/bin/python"),
                "-c",
                "import importlib.metadata as m; print(m.version('vllm'))",
            ],
        )?;
        let want = version(req.container);
        if have.as_deref() != Some(want.as_str()) {
            return Ok(Probe::Missing(format!("vllm {want} is not installed")));
        }
        let Some((_, unit)) = rendered(req)? else {
            return Ok(Probe::Converged);
        };
        if text(ct, &["cat", VLLM_UNIT_PATH])?.as_deref() != Some(unit.trim()) {
            return Ok(Probe::Missing(format!("{VLLM_UNIT_PATH} differs")));
        }
        if text(ct, &["systemctl", "is-active", "vllm"])?.as_deref() != Some("active") {
            return Ok(Probe::Missing("the vllm service is not active".into()));
        }
        Ok(Probe::Converged)
    }

    fn install(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        let mut files = Vec::new();
        if let Some((_, unit)) = rendered(req)? {
            files.push(StagedFile {
                path: "vllm.service".into(),
                content: unit.into_bytes(),
                mode: 0o644,
            });
            if let Some(token) = hf_token(req) {
                let value = ct.secret(&token)?;
                let env = units::env_file(&[("HF_TOKEN".into(), value)])
                    .map_err(|e| unsupported(req.vmid, e.to_string()))?;
                files.push(StagedFile {
                    path: "vllm.env".into(),
                    content: env.into_bytes(),
                    mode: 0o600,
                });
            }
        }
        run_staged(
            ct,
            &Staged {
                feature: "vllm".into(),
                script: INSTALL.into(),
                files,
                env: vec![
                    ("PHOENIX_VLLM_VERSION".into(), version(req.container)),
                    ("PHOENIX_VLLM_VENV".into(), VENV.into()),
                    ("PHOENIX_VLLM_HOME".into(), HOME.into()),
                ],
                ..Staged::default()
            },
        )
        .map(drop)
    }

    fn verify(&self, req: &Request<'_>, ct: &dyn Container) -> Result<(), FeatureError> {
        let fail = |reason: String| FeatureError::Verify {
            feature: "vllm".into(),
            vmid: ct.vmid(),
            reason,
        };
        match self.probe(req, ct)? {
            Probe::Converged => {}
            Probe::Missing(why) => return Err(fail(why)),
        }
        let Some((s, _)) = rendered(req)? else {
            return Ok(());
        };
        run_staged(
            ct,
            &Staged {
                feature: "vllm-ready".into(),
                script: format!("{READY}\nready \"$@\"\n"),
                args: ready_args(&s, READY_SECONDS),
                ..Staged::default()
            },
        )
        .map_err(|e| {
            fail(format!(
                "GET /v1/models does not list {}: {e}",
                s.served_name()
            ))
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_errors_name_both_places_and_the_flag() {
        let c = VllmSettingsError::Conflict {
            setting: "port",
            first: "vllm_engine_config.ServerConfig.port",
            first_value: "8001".into(),
            second: "vllm_port",
            second_value: "8000".into(),
        };
        assert_eq!(
            c.to_string(),
            "vllm_engine_config.ServerConfig.port says 8001 but vllm_port says 8000: phoenix does not choose between them; remove one (phoenix config upgrade moves what agrees)"
        );
        let d = VllmSettingsError::ExtraArgsDiffer {
            engine: vec!["--a".into()],
            legacy: vec!["--b".into()],
        };
        assert_eq!(
            d.to_string(),
            "vllm_engine_config.ServerConfig.extra_args and vllm_args differ: phoenix does not choose between them; remove one"
        );
        let f = VllmSettingsError::FlagConflict {
            flag: "--port".into(),
            given: None,
            want: "8000".into(),
        };
        assert_eq!(
            f.to_string(),
            "vllm_args gives --port (nothing) but the settings say 8000: phoenix does not choose between them"
        );
        let given = VllmSettingsError::FlagConflict {
            flag: "--port".into(),
            given: Some("9000".into()),
            want: "8000".into(),
        };
        assert_eq!(
            given.to_string(),
            "vllm_args gives --port 9000 but the settings say 8000: phoenix does not choose between them"
        );
    }

    #[test]
    fn a_conflict_carries_the_setting_and_both_places() {
        let ct: CtConfig = serde_json::from_value(json!({
            "name": "ai", "memory_mb": 4096, "cores": 4, "storage_pool": "local-zfs",
            "storage_size_gb": 32, "template": "local:vztmpl/x.tar.zst",
            "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.50/24"},
            "vllm_model": "a",
            "vllm_engine_config": {"ModelConfig": {"model": "b"}},
        }))
        .unwrap();
        assert_eq!(
            settings(&ct).unwrap_err(),
            VllmSettingsError::Conflict {
                setting: "model",
                first: "vllm_engine_config.ModelConfig.model",
                first_value: "\"b\"".into(),
                second: "vllm_model",
                second_value: "\"a\"".into(),
            }
        );
    }
}
