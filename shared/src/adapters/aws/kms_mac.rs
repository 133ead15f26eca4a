//! [`MacKey`] on a KMS `HMAC_256` key: `GenerateMac` and `VerifyMac` with `HMAC_SHA_256`, so
//! the key material never leaves KMS.

use super::sdk_error;
use crate::error::{Error, Result};
use crate::ports::MacKey;
use async_trait::async_trait;
use aws_sdk_kms::operation::verify_mac::VerifyMacError;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::MacAlgorithmSpec;

/// The largest message KMS MACs (`GenerateMac`/`VerifyMac` `Message`: 1 to 4096 bytes).
const MAX_MESSAGE: usize = 4096;

/// The length of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// KMS HMAC key custody: tags come from `GenerateMac`, checks from `VerifyMac`.
#[derive(Clone, Debug)]
pub struct KmsMac {
    client: aws_sdk_kms::Client,
    key_id: String,
    setting: &'static str,
}

impl KmsMac {
    /// Uses the KMS key `key_id` (id, ARN or alias), a `GENERATE_VERIFY_MAC` `HMAC_256` key,
    /// configured by the variable `setting` (named when it is unset).
    pub fn new(client: aws_sdk_kms::Client, key_id: String, setting: &'static str) -> Self {
        KmsMac { client, key_id, setting }
    }

    fn key_id(&self) -> Result<&str> {
        if self.key_id.is_empty() {
            return Err(Error::internal(format!("{} is not set: this function has no KMS key to MAC with", self.setting)));
        }
        Ok(&self.key_id)
    }
}

#[async_trait]
impl MacKey for KmsMac {
    /// KMS `GenerateMac`. KMS takes 1 to 4096 bytes; any other length is a `Validation` error.
    async fn mac(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let key_id = self.key_id()?;
        if msg.is_empty() || msg.len() > MAX_MESSAGE {
            return Err(Error::validation("a MAC message is 1 to 4096 bytes"));
        }
        let out = self
            .client
            .generate_mac()
            .key_id(key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(msg))
            .send()
            .await
            .map_err(|e| sdk_error("GenerateMac", e))?;
        let tag = out.mac().ok_or_else(|| Error::internal("GenerateMac returned no MAC"))?;
        Ok(tag.as_ref().to_vec())
    }

    /// KMS `VerifyMac` (KMS compares the tags). A tag of the wrong length or a message KMS
    /// cannot MAC never matches; `KMSInvalidMacException` is a mismatch, not a fault.
    async fn verify(&self, msg: &[u8], tag: &[u8]) -> Result<bool> {
        let key_id = self.key_id()?;
        if msg.is_empty() || msg.len() > MAX_MESSAGE || tag.len() != TAG_LEN {
            return Ok(false);
        }
        let verified = self
            .client
            .verify_mac()
            .key_id(key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(msg))
            .mac(Blob::new(tag))
            .send()
            .await;
        match verified {
            Ok(out) => Ok(out.mac_valid()),
            Err(e) if matches!(e.as_service_error(), Some(VerifyMacError::KmsInvalidMacException(_))) => Ok(false),
            Err(e) => Err(sdk_error("VerifyMac", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline(key_id: &str) -> KmsMac {
        let config = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new("us-east-1"))
            .build();
        KmsMac::new(aws_sdk_kms::Client::from_conf(config), key_id.to_owned(), "TENANT_TOKEN_KEY_ID")
    }

    #[tokio::test]
    async fn a_missing_key_id_is_an_internal_error_naming_the_setting() {
        let err = offline("").mac(b"hello").await.unwrap_err();
        assert!(matches!(&err, Error::Internal(m) if m.contains("TENANT_TOKEN_KEY_ID")), "{err}");
        assert!(matches!(offline("").verify(b"hello", &[0; 32]).await, Err(Error::Internal(_))));
    }

    #[tokio::test]
    async fn messages_and_tags_kms_cannot_take_are_refused_without_a_call() {
        let mac = offline("alias/unused");
        assert!(matches!(mac.mac(&[b'a'; 4097]).await, Err(Error::Validation(_))));
        assert!(matches!(mac.mac(b"").await, Err(Error::Validation(_))));
        assert!(!mac.verify(&[b'a'; 4097], &[0; 32]).await.unwrap());
        assert!(!mac.verify(b"hello", b"").await.unwrap());
        assert!(!mac.verify(b"hello", &[0; 31]).await.unwrap());
    }
}
