//! [`KeyCustody`] on PKCS#8 PEM key files in one private directory.

use super::dir::sync_parent_dir;
use crate::custody::CaSigner;
use crate::error::{Error, Result};
use crate::ports::{CustodyKey, KeyAlgorithm, KeyCustody, KeyHandle, RemoteSign};
use async_trait::async_trait;
use rcgen::{KeyPair, PublicKeyData};
use std::collections::HashMap;
use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The embedded key custody: each key is `<dir>/<owner>-<uuid>.pem` (PKCS#8, mode 0600) in a
/// directory of mode 0700. The key reference is the file name; keys are read once per process.
pub struct KeyFileCustody {
    dir: PathBuf,
    signers: Mutex<HashMap<String, CaSigner>>,
}

impl KeyFileCustody {
    /// Uses `dir` for key files, creating it (mode 0700) if needed.
    pub fn new(dir: PathBuf) -> Result<Self> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::internal(format!("cannot create key directory {}: {e}", dir.display())))?;
        std::fs::set_permissions(&dir, Permissions::from_mode(0o700))
            .map_err(|e| Error::internal(format!("cannot restrict key directory {}: {e}", dir.display())))?;
        Ok(KeyFileCustody { dir, signers: Mutex::new(HashMap::new()) })
    }

    fn cached(&self, key_ref: &str) -> Option<CaSigner> {
        self.signers.lock().unwrap_or_else(|p| p.into_inner()).get(key_ref).cloned()
    }

    fn remember(&self, key_ref: &str, signer: &CaSigner) {
        self.signers.lock().unwrap_or_else(|p| p.into_inner()).insert(key_ref.to_owned(), signer.clone());
    }
}

#[async_trait]
impl KeyCustody for KeyFileCustody {
    async fn create_key(&self, owner: &str, algorithm: KeyAlgorithm) -> Result<KeyHandle> {
        validate_owner(owner)?;
        let key_ref = format!("{owner}-{}.pem", uuid::Uuid::new_v4());
        let path = self.dir.join(&key_ref);
        blocking(move || {
            let pem = generate(algorithm)?.serialize_pem();
            write_private(&path, pem.as_bytes())
        })
        .await?;
        Ok(KeyHandle { key_ref, algorithm })
    }

    async fn signer(&self, key: &KeyHandle) -> Result<CaSigner> {
        validate_key_ref(&key.key_ref)?;
        if let Some(signer) = self.cached(&key.key_ref) {
            return check_algorithm(signer, key.algorithm);
        }
        let path = self.dir.join(&key.key_ref);
        let algorithm = key.algorithm;
        let signer = blocking(move || {
            let pem = std::fs::read_to_string(&path)
                .map_err(|e| Error::internal(format!("cannot read key file {}: {e}", path.display())))?;
            load(&pem, algorithm)
        })
        .await?;
        self.remember(&key.key_ref, &signer);
        Ok(signer)
    }

    /// Renames `<owner>-<uuid>.pem` to `<owner>-<uuid>.orphan.pem`.
    async fn mark_orphan(&self, key: &KeyHandle) -> Result<()> {
        validate_key_ref(&key.key_ref)?;
        let Some(stem) = key.key_ref.strip_suffix(".pem").filter(|s| !s.ends_with(ORPHAN)) else { return Ok(()) };
        let (from, to) = (self.dir.join(&key.key_ref), self.dir.join(format!("{stem}{ORPHAN}.pem")));
        blocking(move || {
            std::fs::rename(&from, &to)
                .and_then(|()| sync_parent_dir(&to))
                .map_err(|e| Error::internal(format!("cannot mark key file {} orphan: {e}", from.display())))
        })
        .await
    }

    /// Every `*.pem` of the directory; the owner is the name before its last `-<uuid>`.
    async fn list_keys(&self) -> Result<Vec<CustodyKey>> {
        let dir = self.dir.clone();
        blocking(move || {
            let entries = std::fs::read_dir(&dir).map_err(|e| Error::internal(format!("cannot list key directory {}: {e}", dir.display())))?;
            let mut keys: Vec<CustodyKey> = entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| validate_key_ref(n).is_ok()).map(|n| listed(&n)).collect();
            keys.sort_by(|a, b| a.key_ref.cmp(&b.key_ref));
            Ok(keys)
        })
        .await
    }

    /// Removes the key file: embedded custody has no waiting period.
    async fn discard_key(&self, key_ref: &str) -> Result<()> {
        validate_key_ref(key_ref)?;
        let path = self.dir.join(key_ref);
        self.signers.lock().unwrap_or_else(|p| p.into_inner()).remove(key_ref);
        blocking(move || {
            std::fs::remove_file(&path)
                .and_then(|()| sync_parent_dir(&path))
                .map_err(|e| Error::internal(format!("cannot remove key file {}: {e}", path.display())))
        })
        .await
    }
}

/// What marks an orphan key file's name, before `.pem`.
const ORPHAN: &str = ".orphan";

fn listed(name: &str) -> CustodyKey {
    let stem = name.trim_end_matches(".pem");
    let (stem, orphan) = stem.strip_suffix(ORPHAN).map_or((stem, false), |s| (s, true));
    let owner = stem.len().checked_sub(37).filter(|&at| stem.as_bytes().get(at) == Some(&b'-')).map(|at| stem[..at].to_owned());
    CustodyKey { key_ref: name.to_owned(), owner, orphan, enabled: true }
}

/// An rcgen key pair as a custody backend: signs in process, never exports the private key.
pub struct LocalSign(KeyPair);

impl RemoteSign for LocalSign {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        rcgen::SigningKey::sign(&self.0, msg).map_err(|e| Error::internal(format!("key file signing failed: {e}")))
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal(format!("key file task failed: {e}")))?
}

fn generate(algorithm: KeyAlgorithm) -> Result<KeyPair> {
    let alg = algorithm.signature_algorithm();
    let generated = match algorithm {
        KeyAlgorithm::EcP256 | KeyAlgorithm::EcP384 | KeyAlgorithm::Rsa2048 => KeyPair::generate_for(alg),
        KeyAlgorithm::Rsa3072 => KeyPair::generate_rsa_for(alg, rcgen::RsaKeySize::_3072),
        KeyAlgorithm::Rsa4096 => KeyPair::generate_rsa_for(alg, rcgen::RsaKeySize::_4096),
    };
    generated.map_err(|e| Error::internal(format!("key generation failed: {e}")))
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let fail = |e: std::io::Error| Error::internal(format!("cannot write key file {}: {e}", path.display()));
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    sync_parent_dir(path).map_err(fail)
}

/// Parses a key file and checks it holds a key of `algorithm` (curve, or RSA modulus size).
fn load(pem: &str, algorithm: KeyAlgorithm) -> Result<CaSigner> {
    let mismatch = || Error::internal(format!("key file does not hold a {algorithm:?} key"));
    let key_pair =
        KeyPair::from_pkcs8_pem_and_sign_algo(pem, algorithm.signature_algorithm()).map_err(|_| mismatch())?;
    let spki = key_pair.subject_public_key_info();
    if let Some(bits) = rsa_bits(algorithm) {
        if rsa_modulus_bits(&spki) != Some(bits) {
            return Err(mismatch());
        }
    }
    CaSigner::new(algorithm, &spki, Arc::new(LocalSign(key_pair)))
}

fn rsa_bits(algorithm: KeyAlgorithm) -> Option<usize> {
    match algorithm {
        KeyAlgorithm::Rsa2048 => Some(2048),
        KeyAlgorithm::Rsa3072 => Some(3072),
        KeyAlgorithm::Rsa4096 => Some(4096),
        KeyAlgorithm::EcP256 | KeyAlgorithm::EcP384 => None,
    }
}

fn rsa_modulus_bits(spki_der: &[u8]) -> Option<usize> {
    use x509_parser::prelude::FromDer;
    use x509_parser::public_key::PublicKey;
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der).ok()?;
    match spki.parsed().ok()? {
        PublicKey::RSA(rsa) => Some(rsa.key_size()),
        _ => None,
    }
}

fn check_algorithm(signer: CaSigner, algorithm: KeyAlgorithm) -> Result<CaSigner> {
    if signer.algorithm() == algorithm {
        Ok(signer)
    } else {
        Err(Error::internal(format!("key file does not hold a {algorithm:?} key")))
    }
}

fn validate_owner(owner: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
    if owner.is_empty() || owner.len() > 128 || !owner.chars().all(ok) {
        return Err(Error::validation("key owner must be 1 to 128 letters, digits, '-' or '_'"));
    }
    Ok(())
}

/// A key reference is a bare file name of this directory: no separators, no traversal.
fn validate_key_ref(key_ref: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if key_ref.starts_with('.') || !key_ref.ends_with(".pem") || !key_ref.chars().all(ok) {
        return Err(Error::validation(format!("invalid key file reference {key_ref:?}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn key_files_are_private_and_their_directory_too() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let custody = KeyFileCustody::new(dir.clone()).unwrap();
        let handle = custody.create_key("ca-1", KeyAlgorithm::EcP256).await.unwrap();
        assert!(handle.key_ref.starts_with("ca-1-") && !handle.key_ref.contains('/'));
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join(&handle.key_ref)), 0o600);
        assert_eq!(mode(&dir), 0o700);
        let pem = std::fs::read_to_string(dir.join(&handle.key_ref)).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn signer_refuses_traversal_and_a_mismatched_algorithm() {
        let tmp = tempfile::tempdir().unwrap();
        let custody = KeyFileCustody::new(tmp.path().to_path_buf()).unwrap();
        let handle = custody.create_key("ca", KeyAlgorithm::EcP384).await.unwrap();
        for bad in ["../x.pem", "a/b.pem", ".pem", "x.key", ""] {
            let forged = KeyHandle { key_ref: bad.into(), algorithm: KeyAlgorithm::EcP384 };
            assert!(matches!(custody.signer(&forged).await, Err(Error::Validation(_))), "{bad:?} accepted");
        }
        let signer = custody.signer(&handle).await.unwrap();
        assert!(!signer.sign_message(b"hello").unwrap().is_empty());
        let wrong = KeyHandle { algorithm: KeyAlgorithm::EcP256, ..handle.clone() };
        assert!(custody.signer(&wrong).await.is_err());
        let fresh = KeyFileCustody::new(tmp.path().to_path_buf()).unwrap();
        assert!(fresh.signer(&wrong).await.is_err());
    }

    #[test]
    fn owners_with_path_characters_are_refused() {
        assert!(validate_owner("ca_1-x").is_ok());
        for bad in ["", "../x", "a/b", "a b", "a.b"] {
            assert!(validate_owner(bad).is_err(), "{bad:?} accepted");
        }
    }
}
