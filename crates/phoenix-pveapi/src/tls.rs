//! TLS trust: a CA file (normal verification, host name included) or a pinned leaf
//! certificate fingerprint (Proxmox nodes use self-signed certificates).

use std::sync::Arc;

use camino::Utf8PathBuf;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::Fingerprint;
use crate::error::TlsProblem;

/// A CA file holds a few certificates, never this much.
const CA_FILE_LIMIT: u64 = 4 * 1024 * 1024;

/// How the client decides to trust the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Certificates (PEM) to verify the server's chain against, with its host name
    /// (Proxmox's `/etc/pve/pve-root-ca.pem`, or a company CA).
    CaFile(Utf8PathBuf),
    /// Accept exactly the leaf certificate with this SHA-256 fingerprint (what the GUI
    /// shows under Certificates). The host name is not checked, as with Proxmox's own
    /// clients: the pin names the certificate itself.
    Fingerprint(Fingerprint),
}

/// The SHA-256 fingerprint of a certificate's DER encoding.
///
/// ```
/// let f = phoenix_pveapi::fingerprint_of(b"not really a certificate");
/// assert_eq!(f.to_string().len(), 95);
/// ```
pub fn fingerprint_of(der: &[u8]) -> Fingerprint {
    Fingerprint::from_bytes(Sha256::digest(der).into())
}

/// The ring provider: the only one built (aws-lc-rs needs cmake and builds slowly).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration for a trust setting.
pub(crate) fn client_config(trust: &Trust) -> Result<rustls::ClientConfig, TlsProblem> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsProblem::Handshake(e.to_string()))?;
    let config = match trust {
        Trust::CaFile(path) => {
            let bad = |reason: String| TlsProblem::CaFile {
                path: path.clone(),
                reason,
            };
            let bytes = phoenix_hostpath::read_input(path, CA_FILE_LIMIT)
                .map_err(|e| bad(e.to_string()))?
                .ok_or_else(|| bad("it does not exist".into()))?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&bytes) {
                let cert = cert.map_err(|e| bad(format!("not PEM certificates: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| bad(format!("a certificate in it is unusable: {e}")))?;
            }
            if roots.is_empty() {
                return Err(bad("it holds no PEM certificate".into()));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::Fingerprint(expected) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedLeaf {
                expected: *expected,
                provider,
            }))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// The pinned leaf did not match: carried through rustls and ureq as the source of the
/// handshake error, and turned back into [`TlsProblem::FingerprintMismatch`].
#[derive(Debug, thiserror::Error)]
#[error("certificate fingerprint {presented} is not the pinned {expected}")]
pub(crate) struct PinMismatch {
    pub(crate) expected: Fingerprint,
    pub(crate) presented: Fingerprint,
}

/// Accepts exactly one leaf certificate. The handshake signatures are still verified
/// with the provider's algorithms, so only the holder of that certificate's key passes:
/// what the pin replaces is the chain and the host name, not the proof of the key.
#[derive(Debug)]
struct PinnedLeaf {
    expected: Fingerprint,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedLeaf {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = fingerprint_of(end_entity);
        if presented == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch {
                    expected: self.expected,
                    presented,
                })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Finds a rustls error in an error's source chain (ureq wraps it in an `io::Error`,
/// whose `source()` skips the wrapped error itself, so each level is unwrapped by hand).
pub(crate) fn tls_problem_in(err: &(dyn std::error::Error + 'static)) -> Option<TlsProblem> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(problem) = tls_problem_in(inner)
        {
            return Some(problem);
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(problem_of(tls));
        }
        current = e.source();
    }
    None
}

fn problem_of(err: &rustls::Error) -> TlsProblem {
    if let rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) = err
        && let Some(m) = inner.downcast_ref::<PinMismatch>()
    {
        return TlsProblem::FingerprintMismatch {
            expected: m.expected,
            presented: m.presented,
        };
    }
    TlsProblem::Handshake(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_is_found_through_io_error() {
        let expected = Fingerprint::from_bytes([1; 32]);
        let presented = Fingerprint::from_bytes([2; 32]);
        let tls = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
            PinMismatch {
                expected,
                presented,
            },
        ))));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        assert_eq!(
            tls_problem_in(&io),
            Some(TlsProblem::FingerprintMismatch {
                expected,
                presented
            })
        );
        let plain = std::io::Error::other("reset");
        assert_eq!(tls_problem_in(&plain), None);
    }

    #[test]
    fn ca_file_problems() {
        let dir = tempfile::tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().join("ca.pem")).unwrap();
        let err = |trust| client_config(&trust).unwrap_err().to_string();
        assert_eq!(
            err(Trust::CaFile(path.clone())),
            format!("cannot use CA file {path}: it does not exist")
        );
        std::fs::write(&path, "not pem\n").unwrap();
        assert_eq!(
            err(Trust::CaFile(path.clone())),
            format!("cannot use CA file {path}: it holds no PEM certificate")
        );
        assert!(client_config(&Trust::Fingerprint(Fingerprint::from_bytes([0; 32]))).is_ok());
    }
}
