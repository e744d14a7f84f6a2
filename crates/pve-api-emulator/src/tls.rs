//! The emulator's TLS identity: a self-signed certificate from `rcgen` (SANs `127.0.0.1`
//! and `localhost`), a rustls server config on the `ring` provider, and the certificate's
//! fingerprint as Proxmox's GUI shows it (SHA-256 of the DER, `AB:CD:...`).

use std::sync::Arc;

use phoenix_pveconf::api::Fingerprint;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

use crate::error::EmuError;

/// A certificate and its key, made at start and held in memory only.
pub struct Identity {
    cert_der: Vec<u8>,
    cert_pem: String,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// A new self-signed certificate for `127.0.0.1` and `localhost`.
    pub fn generate() -> Result<Self, EmuError> {
        let ck = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])?;
        Ok(Identity {
            cert_der: ck.cert.der().to_vec(),
            cert_pem: ck.cert.pem(),
            key_der: ck.key_pair.serialize_der(),
        })
    }

    /// The certificate in PEM (what `--cert-out` writes).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate's DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// SHA-256 of the certificate's DER.
    pub fn fingerprint(&self) -> Fingerprint {
        fingerprint_of(&self.cert_der)
    }

    /// The rustls server configuration (ring provider, TLS 1.2 and 1.3).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, EmuError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(self.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone())),
            )?;
        Ok(Arc::new(cfg))
    }
}

/// SHA-256 of `der`.
pub fn fingerprint_of(der: &[u8]) -> Fingerprint {
    Fingerprint::from_bytes(Sha256::digest(der).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_identity_makes_a_server_config() {
        let id = Identity::generate().unwrap();
        assert!(id.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(id.fingerprint(), fingerprint_of(id.cert_der()));
        assert_eq!(id.fingerprint().to_string().len(), 95);
        id.server_config().unwrap();
        assert!(!format!("{id:?}").contains("key_der"));
    }
}
