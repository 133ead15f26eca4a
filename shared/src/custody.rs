//! The bridge between key custody and rcgen: a [`CaSigner`] is an rcgen `SigningKey` whose
//! private half stays in custody (KMS or a key file).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Key algorithms a CA key can have (seed 004 `keySpec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyAlgorithm {
    EcP256,
    EcP384,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl KeyAlgorithm {
    /// The rcgen signature algorithm used with this key (RSA: PKCS#1 v1.5, rcgen has no PSS).
    pub fn signature_algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyAlgorithm::EcP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlgorithm::EcP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
        }
    }

    /// True for RSA keys.
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096)
    }
}

/// Where a custody key lives: a KMS key id/ARN, or a local key file name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyHandle {
    pub key_ref: String,
    pub algorithm: KeyAlgorithm,
}

/// Signs with a key that never leaves custody. Synchronous because rcgen's `SigningKey` is;
/// the KMS implementation bridges to the async SDK with `block_in_place` (multi-thread runtime).
pub trait RemoteSign: Send + Sync {
    /// Signs `msg` (the whole message; the implementation hashes it as the algorithm says).
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>>;
}

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
