//! [`MacKey`] on a 256-bit key file (mode 0600) in the data dir.

use crate::error::{Error, Result};
use crate::ports::MacKey;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

type HmacSha256 = Hmac<sha2::Sha256>;

/// An embedded HMAC key (the deployment's MAC key, or the confirm-token key): 32 random
/// bytes, created on first open, never logged.
pub struct KeyFileMac {
    key: [u8; 32],
}

impl KeyFileMac {
    /// Reads the key at `path`, creating it (0600, exclusively) when absent.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.exists() {
            create(path)?;
        }
        let bytes = std::fs::read(path).map_err(|e| key_err(path, e))?;
        let key = <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| Error::internal(format!("{} is not a 256-bit key", path.display())))?;
        Ok(KeyFileMac { key })
    }

    fn hmac(&self, msg: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(msg);
        mac
    }
}

fn key_err(path: &Path, e: std::io::Error) -> Error {
    Error::internal(format!("MAC key file {}: {e}", path.display()))
}

/// Writes a fresh key to a temporary file, flushes it, and links it into place only if no
/// key is there yet; then flushes the directory. A crash leaves either no key or a whole one,
/// and two processes starting at once end up with the same key.
fn create(path: &Path) -> Result<()> {
    let mut key = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut key);
    let temp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| file.write_all(&key).and_then(|()| file.sync_all()));
    let linked = written.and_then(|()| match std::fs::hard_link(&temp, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = std::fs::remove_file(&temp);
    linked.and_then(|()| super::dir::sync_parent_dir(path)).map_err(|e| key_err(path, e))
}

#[async_trait]
impl MacKey for KeyFileMac {
    async fn mac(&self, msg: &[u8]) -> Result<Vec<u8>> {
        if msg.is_empty() || msg.len() > 4096 {
            return Err(Error::validation("a MAC message is 1 to 4096 bytes"));
        }
        Ok(self.hmac(msg).finalize().into_bytes().to_vec())
    }

    async fn verify(&self, msg: &[u8], tag: &[u8]) -> Result<bool> {
        if msg.is_empty() || msg.len() > 4096 {
            return Ok(false);
        }
        Ok(self.hmac(msg).verify_slice(tag).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn the_key_file_is_private_stable_across_opens_and_verifies_its_own_macs_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tenant-token.key");
        let first = KeyFileMac::open(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let tag = first.mac(b"hello").await.unwrap();
        let again = KeyFileMac::open(&path).unwrap();
        assert!(again.verify(b"hello", &tag).await.unwrap());
        assert!(!again.verify(b"hellO", &tag).await.unwrap());
        let other = KeyFileMac::open(&dir.path().join("other.key")).unwrap();
        assert!(!other.verify(b"hello", &tag).await.unwrap());
    }
}
