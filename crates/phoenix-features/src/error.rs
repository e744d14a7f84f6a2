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
    }
}
