//! Why a feature could not be checked, installed or verified.

/// Why a feature could not be checked, installed or verified.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// The feature cannot be installed on this container.
    #[error("feature {feature} cannot be installed on CT {vmid}: {reason}")]
    Unsupported {
        /// The feature.
        feature: String,
        /// The container.
        vmid: u32,
        /// Why.
        reason: String,
    },
    /// A command inside the container failed.
    #[error("`{command}` failed in CT {vmid} with exit code {code}: {stderr}")]
    CommandFailed {
        /// The container.
        vmid: u32,
        /// The command, for reading.
        command: String,
        /// Its exit code.
        code: i32,
        /// What it printed on stderr (its last lines).
        stderr: String,
    },
    /// The feature was installed but does not work.
    #[error("feature {feature} on CT {vmid} does not verify: {reason}")]
    Verify {
        /// The feature.
        feature: String,
        /// The container.
        vmid: u32,
        /// What failed.
        reason: String,
    },
    /// The vllm settings disagree with each other (the plan stops).
    #[error("feature vllm cannot be installed on CT {vmid}")]
    Vllm {
        /// The container.
        vmid: u32,
        /// The two places that disagree.
        #[source]
        source: Box<crate::vllm::VllmSettingsError>,
    },
    /// docker's `daemon.json` cannot take the nvidia runtime.
    #[error("feature nvidia cannot be installed on CT {vmid}")]
    NvidiaRuntime {
        /// The container.
        vmid: u32,
        /// Which document is wrong.
        #[source]
        source: crate::nvidia::NvidiaRuntimeError,
    },
    /// `nvidia-smi` does not report the driver the containers must run.
    #[error("feature nvidia on CT {vmid} does not verify")]
    NvidiaSmi {
        /// The container.
        vmid: u32,
        /// What `nvidia-smi` said.
        #[source]
        source: crate::nvidia::SmiError,
    },
    /// A secret the feature needs cannot be read on the host.
    #[error("cannot read a secret for CT {vmid}")]
    Secret {
        /// The container.
        vmid: u32,
        /// The reader's error (it names the reference, never a value).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Reaching the container failed (the pct call itself).
    #[error("cannot reach CT {vmid}")]
    Access {
        /// The container.
        vmid: u32,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_name_the_container_and_the_command() {
        let e = FeatureError::CommandFailed {
            vmid: 102,
            command: "docker info".into(),
            code: 1,
            stderr: "no daemon".into(),
        };
        assert_eq!(
            e.to_string(),
            "`docker info` failed in CT 102 with exit code 1: no daemon"
        );
        let u = FeatureError::Unsupported {
            feature: "nvidia".into(),
            vmid: 950,
            reason: "no GPU on this host".into(),
        };
        assert_eq!(
            u.to_string(),
            "feature nvidia cannot be installed on CT 950: no GPU on this host"
        );
        let v = FeatureError::Verify {
            feature: "docker".into(),
            vmid: 5,
            reason: "storage driver is vfs".into(),
        };
        assert_eq!(
            v.to_string(),
            "feature docker on CT 5 does not verify: storage driver is vfs"
        );
        let a = FeatureError::Access {
            vmid: 7,
            source: "x".into(),
        };
        assert_eq!(a.to_string(), "cannot reach CT 7");
        let s = FeatureError::Secret {
            vmid: 8,
            source: "the secret file /etc/t does not exist".into(),
        };
        assert_eq!(s.to_string(), "cannot read a secret for CT 8");
        let d = FeatureError::NvidiaRuntime {
            vmid: 9,
            source: crate::nvidia::NvidiaRuntimeError::NoRuntimes,
        };
        assert_eq!(d.to_string(), "feature nvidia cannot be installed on CT 9");
        let n = FeatureError::NvidiaSmi {
            vmid: 9,
            source: crate::nvidia::SmiError::NoGpu,
        };
        assert_eq!(n.to_string(), "feature nvidia on CT 9 does not verify");
        let v = FeatureError::Vllm {
            vmid: 10,
            source: Box::new(crate::vllm::VllmSettingsError::ExtraArgsDiffer {
                engine: vec![],
                legacy: vec![],
            }),
        };
        assert_eq!(v.to_string(), "feature vllm cannot be installed on CT 10");
        // The cause is the source, so a chain printer says it once.
        assert_eq!(
            std::error::Error::source(&v).unwrap().to_string(),
            "vllm_engine_config.ServerConfig.extra_args and vllm_args differ: phoenix does not choose between them; remove one"
        );
    }
}
