//! The bridge between key custody and rcgen: a [`CaSigner`] is an rcgen `SigningKey` whose
//! private half stays in custody (KMS or a key file).

use crate::error::{Error, Result};
use crate::ports::{KeyAlgorithm, RemoteSign};
use std::sync::Arc;

/// A custody key usable wherever rcgen wants a `SigningKey` (certificates, CRLs).
#[derive(Clone)]
pub struct CaSigner {
    algorithm: KeyAlgorithm,
    /// The subjectPublicKey bits of the key's SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
    public_key: Arc<[u8]>,
    backend: Arc<dyn RemoteSign>,
}

impl CaSigner {
    /// Wraps a custody backend. `spki_der` is the key's DER SubjectPublicKeyInfo.
    pub fn new(algorithm: KeyAlgorithm, spki_der: &[u8], backend: Arc<dyn RemoteSign>) -> Result<Self> {
        use x509_parser::prelude::FromDer;
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der)
            .map_err(|e| Error::internal(format!("custody returned an unreadable public key: {e}")))?;
        Ok(CaSigner { algorithm, public_key: spki.subject_public_key.data.to_vec().into(), backend })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Signs through custody, keeping the domain error (rcgen's own error type loses it).
    pub fn sign_message(&self, msg: &[u8]) -> Result<Vec<u8>> {
        self.backend.sign(msg)
    }
}

impl std::fmt::Debug for CaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaSigner").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl rcgen::PublicKeyData for CaSigner {
    fn der_bytes(&self) -> &[u8] {
        &self.public_key
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.algorithm.signature_algorithm()
    }
}

impl rcgen::SigningKey for CaSigner {
    fn sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, rcgen::Error> {
        self.backend.sign(msg).map_err(|e| {
            tracing::error!(error = %e, "custody signing failed");
            rcgen::Error::RemoteKeyError
        })
    }
}

/// The digest custody signs for `algorithm` (SHA-384 for P-384, SHA-256 otherwise).
pub fn digest_for(algorithm: KeyAlgorithm, msg: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    match algorithm {
        KeyAlgorithm::EcP384 => sha2::Sha384::digest(msg).to_vec(),
        _ => sha2::Sha256::digest(msg).to_vec(),
    }
}
