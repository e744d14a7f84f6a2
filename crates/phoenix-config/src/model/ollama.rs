//! `ollama`: how the Ollama server of a container with the `ollama` feature is
//! installed and configured. Every setting is one of Ollama's documented `OLLAMA_*`
//! environment variables, written by phoenix into a systemd drop-in of the
//! `ollama` unit (`/etc/systemd/system/ollama.service.d/phoenix.conf`).
//!
//! ```json
//! "ollama": {
//!   "install_url": "https://ollama.com/download/ollama-linux-amd64.tgz",
//!   "host": "0.0.0.0", "port": 11434,
//!   "keep_alive": "24h", "num_parallel": 2, "max_loaded_models": 1,
//!   "flash_attention": true
//! }
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::names::{AbsPath, HttpUrl, VersionString};
use crate::net::Ipv4;

/// A container's Ollama settings (all optional: without any, Ollama listens on
/// `0.0.0.0:11434` with its own defaults).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OllamaSettings {
    /// Where Ollama comes from: the official Linux tarball (`.tgz`, `.tar.zst`,
    /// extracted under `/usr`) or the official install script (a URL ending in
    /// `.sh`, run with `sh`). Default: the official amd64 tarball.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_url: Option<HttpUrl>,
    /// The version `ollama --version` must report; when it does not, Ollama is
    /// downloaded again. Absent: any installed version is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionString>,
    /// The address Ollama listens on (`OLLAMA_HOST`'s host; default `0.0.0.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Ipv4>,
    /// The port Ollama listens on (`OLLAMA_HOST`'s port; default 11434).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
    /// `OLLAMA_MODELS`: the models directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models_dir: Option<AbsPath>,
    /// `OLLAMA_KEEP_ALIVE`: how long a model stays loaded (`5m`, `24h`, `-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^-?[0-9]+(ms|s|m|h)?$"))]
    pub keep_alive: Option<String>,
    /// `OLLAMA_NUM_PARALLEL`: parallel requests per model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub num_parallel: Option<u32>,
    /// `OLLAMA_MAX_LOADED_MODELS`: models loaded at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_loaded_models: Option<u32>,
    /// `OLLAMA_MAX_QUEUE`: queued requests before Ollama answers busy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_queue: Option<u32>,
    /// `OLLAMA_CONTEXT_LENGTH`: the default context length in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub context_length: Option<u32>,
    /// `OLLAMA_FLASH_ATTENTION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_attention: Option<bool>,
    /// `OLLAMA_KV_CACHE_TYPE`: `f16`, `q8_0` or `q4_0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_type: Option<OllamaKvCacheType>,
    /// `OLLAMA_SCHED_SPREAD`: spread every model over all GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sched_spread: Option<bool>,
    /// `OLLAMA_ORIGINS`: extra allowed browser origins (joined with commas).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<HttpUrl>,
    /// `OLLAMA_DEBUG`: verbose logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<bool>,
}

/// Ollama's K/V cache quantizations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OllamaKvCacheType {
    /// 16-bit floats (Ollama's default).
    F16,
    /// 8-bit quantization.
    Q8_0,
    /// 4-bit quantization.
    Q4_0,
}

impl OllamaKvCacheType {
    /// The value Ollama reads.
    pub fn as_str(self) -> &'static str {
        match self {
            OllamaKvCacheType::F16 => "f16",
            OllamaKvCacheType::Q8_0 => "q8_0",
            OllamaKvCacheType::Q4_0 => "q4_0",
        }
    }
}
