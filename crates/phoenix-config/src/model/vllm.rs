//! `vllm_engine_config`: a vLLM container's engine settings, grouped as vLLM's own
//! config classes group them (the newest bash-era shape). It is the canonical
//! place: `phoenix config upgrade` moves the flat bash-era `vllm_*` keys here.
//!
//! ```json
//! "vllm_engine_config": {
//!   "ModelConfig": { "model": "Qwen/Qwen2.5-7B-Instruct-AWQ", "dtype": "auto", "max_model_len": 4096 },
//!   "CacheConfig": { "quantization": "awq_marlin", "gpu_memory_utilization": 0.5 },
//!   "ParallelConfig": { "tensor_parallel_size": 2 },
//!   "ServerConfig": { "host": "0.0.0.0", "port": 8000, "served_model_name": "qwen2.5-7b-awq" }
//! }
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::legacy::VllmModelType;
use crate::net::Ipv4;

/// The engine settings, by vLLM config class.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VllmEngineConfig {
    /// The model and how it is loaded.
    #[serde(
        rename = "ModelConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub model: Option<VllmModelConfig>,
    /// KV cache and GPU memory.
    #[serde(
        rename = "CacheConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cache: Option<VllmCacheConfig>,
    /// Parallelism across GPUs.
    #[serde(
        rename = "ParallelConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parallel: Option<VllmParallelConfig>,
    /// Batching limits.
    #[serde(
        rename = "SchedulerConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub scheduler: Option<VllmSchedulerConfig>,
    /// The OpenAI-compatible API server.
    #[serde(
        rename = "ServerConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub server: Option<VllmServerConfig>,
}

/// vLLM `ModelConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VllmModelConfig {
    /// The model to serve (Hugging Face id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Chat or embedding model (bash era `vllm_model_type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<VllmModelType>,
    /// Trust remote code from the model repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_remote_code: Option<bool>,
    /// Weight data type (`auto`, `float16`, `bfloat16`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<String>,
    /// Maximum context length in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_model_len: Option<u32>,
}

/// vLLM `CacheConfig` (the old files also put the quantization method here).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VllmCacheConfig {
    /// Quantization method (`awq_marlin`, `fp8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<String>,
    /// Fraction of GPU memory to use, in (0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub gpu_memory_utilization: Option<f64>,
    /// KV cache data type (`auto`, `fp8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_dtype: Option<String>,
}

/// vLLM `ParallelConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VllmParallelConfig {
    /// Number of GPUs for tensor parallelism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub tensor_parallel_size: Option<u32>,
}

/// vLLM `SchedulerConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VllmSchedulerConfig {
    /// Maximum tokens per batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_num_batched_tokens: Option<u32>,
    /// Maximum concurrent sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_num_seqs: Option<u32>,
}

/// The API server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VllmServerConfig {
    /// Address to listen on (`0.0.0.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Ipv4>,
    /// Port to listen on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
    /// The model name the API serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_model_name: Option<String>,
    /// Extra command-line arguments, one argv element each (bash era `vllm_args`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_args: Vec<String>,
}
