//! Secrets kept for a session (the client's `target_password`, a server-generated device
//! private key until the gateway fetches it): stored only as AES-256-GCM ciphertext.
//!
//! The 256-bit key is the deployment's [`MacKey`] (KMS `GenerateMac` on AWS, the key file
//! locally) applied to [`KEY_DERIVATION_LABEL`], as [`crate::adapters::sealed_cursors`]
//! derives its key; every process of a deployment derives the same key, so what one Lambda
//! sealed another opens. A sealed value is base64url (no padding) of `nonce ‖ ciphertext ‖ tag`
//! with a random 96-bit nonce; the additional data binds it to what it belongs to (session
//! and purpose), so a value copied to another item does not open.

use crate::error::{Error, Result};
use crate::ports::MacKey;
use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use crate::warm::PerInstance;
use std::sync::Arc;

/// The message the deployment's MAC key MACs to derive the device-secret key; distinct from
/// the cursor label and from any JWT (which start with `eyJ`).
pub const KEY_DERIVATION_LABEL: &[u8] = b"trustplane/device-secrets-key/v1";

/// The sealing key, derived once per process and MAC key ([`SecretBox::of`]).
pub struct SecretBox {
    key: RandomizedNonceKey,
}

impl SecretBox {
    /// The key of `mac`, derived at its first use in this process (one KMS `GenerateMac` per
    /// cold start on AWS, not one per request).
    pub async fn of(mac: &Arc<dyn MacKey>) -> Result<Arc<SecretBox>> {
        static DERIVED: PerInstance<dyn MacKey, SecretBox> = PerInstance::new();
        if let Some(found) = DERIVED.get(mac) {
            return Ok(found);
        }
        Ok(DERIVED.insert(mac, Arc::new(Self::derive(mac.as_ref()).await?)))
    }

    /// Derives the key from the deployment's MAC key.
    pub async fn derive(mac: &dyn MacKey) -> Result<Self> {
        let bytes = mac.mac(KEY_DERIVATION_LABEL).await?;
        let key = RandomizedNonceKey::new(&AES_256_GCM, &bytes).map_err(|_| Error::internal("the MAC key did not yield a 256-bit secret key"))?;
        Ok(SecretBox { key })
    }

    /// `plaintext` sealed under `binding`.
    pub fn seal(&self, binding: &str, plaintext: &str) -> Result<String> {
        let mut data = plaintext.as_bytes().to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(binding.as_bytes()), &mut data)
            .map_err(|_| Error::internal("cannot seal a device secret"))?;
        let mut sealed = nonce.as_ref().to_vec();
        sealed.extend_from_slice(&data);
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }

    /// Opens what [`SecretBox::seal`] sealed under the same `binding`.
    pub fn open(&self, binding: &str, sealed: &str) -> Result<String> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| Error::internal("a stored device secret is not base64"))?;
        if bytes.len() < NONCE_LEN {
            return Err(Error::internal("a stored device secret is truncated"));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::internal("bad nonce"))?;
        let mut data = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(binding.as_bytes()), &mut data)
            .map_err(|_| Error::internal("a stored device secret does not open under this deployment's key"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| Error::internal("a stored device secret is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FixedMac;

    #[async_trait::async_trait]
    impl MacKey for FixedMac {
        async fn mac(&self, msg: &[u8]) -> Result<Vec<u8>> {
            use sha2::Digest;
            Ok(sha2::Sha256::digest(msg).to_vec())
        }
        async fn verify(&self, _: &[u8], _: &[u8]) -> Result<bool> {
            Ok(false)
        }
    }

    struct CountingMac(std::sync::atomic::AtomicUsize);

    #[async_trait::async_trait]
    impl MacKey for CountingMac {
        async fn mac(&self, msg: &[u8]) -> Result<Vec<u8>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            FixedMac.mac(msg).await
        }
        async fn verify(&self, _: &[u8], _: &[u8]) -> Result<bool> {
            Ok(false)
        }
    }

    #[tokio::test]
    async fn the_key_is_derived_once_per_mac_key_and_anew_for_another_key() {
        let (first, second) = (Arc::new(CountingMac(Default::default())), Arc::new(CountingMac(Default::default())));
        let (first_key, second_key): (Arc<dyn MacKey>, Arc<dyn MacKey>) = (first.clone(), second.clone());
        let sealed = SecretBox::of(&first_key).await.unwrap().seal("b", "secret").unwrap();
        for _ in 0..5 {
            assert_eq!(SecretBox::of(&first_key.clone()).await.unwrap().open("b", &sealed).unwrap(), "secret");
        }
        SecretBox::of(&second_key).await.unwrap();
        let calls = |m: &CountingMac| m.0.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!((calls(&first), calls(&second)), (1, 1));
    }

    #[tokio::test]
    async fn a_sealed_secret_opens_only_under_its_binding_and_never_holds_the_plaintext() {
        let sealed_box = SecretBox::derive(&FixedMac).await.unwrap();
        let sealed = sealed_box.seal("session-1/password", "hunter2-wifi").unwrap();
        assert!(!sealed.contains("hunter2"), "{sealed}");
        assert_eq!(sealed_box.open("session-1/password", &sealed).unwrap(), "hunter2-wifi");
        assert!(sealed_box.open("session-2/password", &sealed).is_err());
        assert_ne!(sealed_box.seal("session-1/password", "hunter2-wifi").unwrap(), sealed, "a fresh nonce every time");
    }
}
