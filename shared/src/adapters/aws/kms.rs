//! [`KeyCustody`] in AWS KMS: asymmetric `SIGN_VERIFY` keys whose private half never leaves
//! KMS; certificates and CRLs are signed through `Sign` on a locally computed digest.

use super::sdk_error;
use crate::custody::{digest_for, CaSigner};
use crate::error::{Error, Result};
use crate::ports::{CustodyKey, KeyAlgorithm, KeyCustody, KeyHandle, RemoteSign};
use async_trait::async_trait;
use aws_sdk_kms::operation::create_alias::CreateAliasError;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec, Tag};
use aws_sdk_kms::Client;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// KMS key custody. Keys are tagged `trustplane:authority=<owner>` and
/// `trustplane:stack=<stack>` (IAM policies match the latter) and aliased
/// `<alias_prefix>/<owner>`. Public keys are fetched once per key per process.
#[derive(Debug)]
pub struct KmsCustody {
    client: Client,
    alias_prefix: String,
    stack_name: String,
    public_keys: Mutex<HashMap<String, Arc<[u8]>>>,
}

fn key_spec(algorithm: KeyAlgorithm) -> KeySpec {
    match algorithm {
        KeyAlgorithm::EcP256 => KeySpec::EccNistP256,
        KeyAlgorithm::EcP384 => KeySpec::EccNistP384,
        KeyAlgorithm::Rsa2048 => KeySpec::Rsa2048,
        KeyAlgorithm::Rsa3072 => KeySpec::Rsa3072,
        KeyAlgorithm::Rsa4096 => KeySpec::Rsa4096,
    }
}

fn signing_algorithm(algorithm: KeyAlgorithm) -> SigningAlgorithmSpec {
    match algorithm {
        KeyAlgorithm::EcP256 => SigningAlgorithmSpec::EcdsaSha256,
        KeyAlgorithm::EcP384 => SigningAlgorithmSpec::EcdsaSha384,
        _ => SigningAlgorithmSpec::RsassaPkcs1V15Sha256,
    }
}

/// KMS error codes for a key that exists but cannot be used now (disabled, pending deletion,
/// its custom key store unreachable): the CA is unavailable until an operator acts, a 503
/// rather than an internal fault.
const KEY_STATE_CODES: &[&str] = &["DisabledException", "KMSInvalidStateException", "KeyUnavailableException"];

/// [`sdk_error`], with a key that cannot be used now ([`KEY_STATE_CODES`]) as `Unavailable`.
fn kms_error<E>(operation: &str, err: aws_sdk_kms::error::SdkError<E>) -> Error
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_kms::error::ProvideErrorMetadata;
    let key_state = err.code().is_some_and(|code| KEY_STATE_CODES.contains(&code));
    match sdk_error(operation, err) {
        Error::Internal(detail) if key_state => Error::Unavailable(detail),
        other => other,
    }
}

fn tag(key: &str, value: &str) -> Result<Tag> {
    Tag::builder().tag_key(key).tag_value(value).build().map_err(Error::internal)
}

impl KmsCustody {
    /// Custody creating keys aliased under `alias_prefix` (e.g. `alias/trustplane`) and
    /// tagged with `stack_name`.
    pub fn new(client: Client, alias_prefix: String, stack_name: String) -> Self {
        KmsCustody { client, alias_prefix, stack_name, public_keys: Mutex::new(HashMap::new()) }
    }

    fn cached_public_key(&self, key_ref: &str) -> Option<Arc<[u8]>> {
        self.public_keys.lock().unwrap_or_else(|e| e.into_inner()).get(key_ref).cloned()
    }

    /// The DER SubjectPublicKeyInfo of `key` (KMS `GetPublicKey`), checked against its algorithm.
    async fn public_key(&self, key: &KeyHandle) -> Result<Arc<[u8]>> {
        if let Some(spki) = self.cached_public_key(&key.key_ref) {
            return Ok(spki);
        }
        let out =
            self.client.get_public_key().key_id(&key.key_ref).send().await.map_err(|e| kms_error("GetPublicKey", e))?;
        if out.key_spec().is_some_and(|spec| *spec != key_spec(key.algorithm)) {
            return Err(Error::internal(format!("KMS key {} is not a {:?} key", key.key_ref, key.algorithm)));
        }
        let spki: Arc<[u8]> = out
            .public_key()
            .map(|b| b.as_ref().into())
            .ok_or_else(|| Error::internal("GetPublicKey returned no public key"))?;
        let mut cache = self.public_keys.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(key.key_ref.clone(), spki.clone());
        Ok(spki)
    }

    /// Points `<alias_prefix>/<owner>` at `key_id` (KMS `CreateAlias`); an existing alias
    /// means the owner already has a key, a `Conflict`.
    async fn create_alias(&self, owner: &str, key_id: &str) -> Result<()> {
        let alias = format!("{}/{owner}", self.alias_prefix);
        let created = self.client.create_alias().alias_name(&alias).target_key_id(key_id).send().await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.as_service_error(), Some(CreateAliasError::AlreadyExistsException(_))) => {
                Err(Error::Conflict(format!("KMS alias {alias} already exists")))
            }
            Err(e) => Err(sdk_error("CreateAlias", e)),
        }
    }

    /// Best-effort cleanup of a key whose alias could not be created (7-day waiting period).
    async fn discard_unaliased(&self, key_id: &str) {
        let scheduled = self.client.schedule_key_deletion().key_id(key_id).pending_window_in_days(7).send().await;
        if let Err(e) = scheduled {
            tracing::warn!(key_id, error = %sdk_error("ScheduleKeyDeletion", e), "could not discard unaliased KMS key");
        }
    }
}

#[async_trait]
impl KeyCustody for KmsCustody {
    /// KMS `CreateKey` (`SIGN_VERIFY`, the algorithm's key spec, tags), `PutKeyPolicy`
    /// ([`ca_key_policy`]), then `CreateAlias`.
    /// The handle's `key_ref` is the key ARN.
    async fn create_key(&self, owner: &str, algorithm: KeyAlgorithm) -> Result<KeyHandle> {
        let out = self
            .client
            .create_key()
            .key_usage(KeyUsageType::SignVerify)
            .key_spec(key_spec(algorithm))
            .description(format!("Trustplane CA key of authority {owner}"))
            .tags(tag("trustplane:authority", owner)?)
            .tags(tag("trustplane:stack", &self.stack_name)?)
            .send()
            .await
            .map_err(|e| sdk_error("CreateKey", e))?;
        let metadata = out.key_metadata().ok_or_else(|| Error::internal("CreateKey returned no key metadata"))?;
        let arn = metadata.arn().ok_or_else(|| Error::internal("CreateKey returned no key ARN"))?.to_owned();
        let policy = ca_key_policy(&arn, algorithm)?;
        let restricted = self.client.put_key_policy().key_id(&arn).policy_name("default").policy(policy).send().await;
        if let Err(e) = restricted {
            self.discard_unaliased(&arn).await;
            return Err(sdk_error("PutKeyPolicy", e));
        }
        if let Err(e) = self.create_alias(owner, &arn).await {
            self.discard_unaliased(&arn).await;
            return Err(e);
        }
        Ok(KeyHandle { key_ref: arn, algorithm })
    }

    /// A signer whose public key comes from `GetPublicKey` (cached) and whose signatures come
    /// from KMS `Sign`.
    async fn signer(&self, key: &KeyHandle) -> Result<CaSigner> {
        let spki = self.public_key(key).await?;
        let backend = KmsSign::new(self.client.clone(), key.key_ref.clone(), key.algorithm);
        CaSigner::new(key.algorithm, &spki, Arc::new(backend))
    }

    /// KMS `DescribeKey`: the key is `Enabled` and for `SIGN_VERIFY`.
    async fn key_usable(&self, key: &KeyHandle) -> Result<bool> {
        let out = self.client.describe_key().key_id(&key.key_ref).send().await.map_err(|e| sdk_error("DescribeKey", e))?;
        let metadata = out.key_metadata().ok_or_else(|| Error::internal("DescribeKey returned no key metadata"))?;
        let enabled = metadata.key_state() == Some(&aws_sdk_kms::types::KeyState::Enabled);
        Ok(enabled && metadata.key_usage() == Some(&KeyUsageType::SignVerify))
    }

    /// KMS `TagResource`: `trustplane:orphan=true`.
    async fn mark_orphan(&self, key: &KeyHandle) -> Result<()> {
        let request = self.client.tag_resource().key_id(&key.key_ref).tags(tag(ORPHAN_TAG, "true")?);
        request.send().await.map(|_| ()).map_err(|e| kms_error("TagResource", e))
    }

    /// KMS `ListKeys`, keeping the keys tagged for this stack (`ListResourceTags`), with their
    /// state (`DescribeKey`).
    async fn list_keys(&self) -> Result<Vec<CustodyKey>> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_keys().into_paginator().items().send();
        while let Some(entry) = pages.next().await {
            let entry = entry.map_err(|e| kms_error("ListKeys", e))?;
            let Some(key_id) = entry.key_arn().or(entry.key_id()) else { continue };
            if let Some(key) = self.listed(key_id).await? {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// KMS `ScheduleKeyDeletion` with the 7-day minimum waiting period.
    async fn discard_key(&self, key_ref: &str) -> Result<()> {
        let scheduled = self.client.schedule_key_deletion().key_id(key_ref).pending_window_in_days(7).send().await;
        scheduled.map(|_| ()).map_err(|e| kms_error("ScheduleKeyDeletion", e))
    }
}

/// The tag [`KeyCustody::mark_orphan`] puts on a key whose authority was never stored.
const ORPHAN_TAG: &str = "trustplane:orphan";

impl KmsCustody {
    /// The key if it is tagged for this stack.
    async fn listed(&self, key_id: &str) -> Result<Option<CustodyKey>> {
        let out = self.client.list_resource_tags().key_id(key_id).send().await.map_err(|e| kms_error("ListResourceTags", e))?;
        let tags: HashMap<&str, &str> = out.tags().iter().map(|t| (t.tag_key(), t.tag_value())).collect();
        if tags.get("trustplane:stack") != Some(&self.stack_name.as_str()) {
            return Ok(None);
        }
        let described = self.client.describe_key().key_id(key_id).send().await.map_err(|e| kms_error("DescribeKey", e))?;
        let enabled = described.key_metadata().and_then(|m| m.key_state()) != Some(&aws_sdk_kms::types::KeyState::PendingDeletion);
        Ok(Some(CustodyKey {
            key_ref: key_id.to_owned(),
            owner: tags.get("trustplane:authority").map(|o| (*o).to_owned()),
            orphan: tags.get(ORPHAN_TAG) == Some(&"true"),
            enabled,
        }))
    }
}

/// The key policy every CA key gets right after `CreateKey` (README, "CA key policy"): the
/// account (through IAM, as the default policy does) may administer the key and read its
/// public key, and may `Sign` with it only digests, only with the CA's algorithm; nothing
/// else (no `kms:*`, no `Verify`, no grants, no replication). Account and partition come from
/// the key's ARN.
pub fn ca_key_policy(key_arn: &str, algorithm: KeyAlgorithm) -> Result<String> {
    let parts: Vec<&str> = key_arn.split(':').collect();
    let (partition, account) = match parts.as_slice() {
        ["arn", partition, "kms", _, account, _] if !account.is_empty() => (*partition, *account),
        _ => return Err(Error::internal(format!("unexpected KMS key ARN {key_arn}"))),
    };
    let root = format!("arn:{partition}:iam::{account}:root");
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Id": "trustplane-ca-key",
        "Statement": [
            {
                "Sid": "AccountAdministersTheKeyThroughIam",
                "Effect": "Allow",
                "Principal": { "AWS": root },
                "Action": [
                    "kms:DescribeKey", "kms:GetPublicKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy",
                    "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource",
                    "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias",
                    "kms:EnableKey", "kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"
                ],
                "Resource": "*"
            },
            {
                "Sid": "SignDigestsWithTheCaAlgorithmOnly",
                "Effect": "Allow",
                "Principal": { "AWS": root },
                "Action": "kms:Sign",
                "Resource": "*",
                "Condition": { "StringEquals": {
                    "kms:SigningAlgorithm": signing_algorithm(algorithm).as_str(),
                    "kms:MessageType": "DIGEST"
                } }
            }
        ]
    });
    Ok(policy.to_string())
}

/// Signs through KMS `Sign` with `MessageType=DIGEST`: the message is hashed locally
/// ([`digest_for`]) so any size can be signed. ECDSA signatures come back DER-encoded
/// (`Ecdsa-Sig-Value`, RFC 5480 §2.2), as X.509 wants them.
#[derive(Clone, Debug)]
pub struct KmsSign {
    client: Client,
    key_id: String,
    algorithm: KeyAlgorithm,
}

impl KmsSign {
    /// A signer for KMS key `key_id` (id, ARN or alias) of `algorithm`.
    pub fn new(client: Client, key_id: String, algorithm: KeyAlgorithm) -> Self {
        KmsSign { client, key_id, algorithm }
    }

    async fn sign_digest(&self, digest: Vec<u8>) -> Result<Vec<u8>> {
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(digest))
            .message_type(MessageType::Digest)
            .signing_algorithm(signing_algorithm(self.algorithm))
            .send()
            .await
            .map_err(|e| kms_error("Sign", e))?;
        out.signature().map(|s| s.as_ref().to_vec()).ok_or_else(|| Error::internal("Sign returned no signature"))
    }
}

impl RemoteSign for KmsSign {
    /// Blocks the calling worker thread on the async SDK call (`block_in_place`), which needs
    /// the multi-thread tokio runtime; elsewhere it fails instead of panicking.
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let needs_runtime = || Error::internal("KMS signing needs the multi-thread tokio runtime");
        let handle = Handle::try_current().map_err(|_| needs_runtime())?;
        if handle.runtime_flavor() != RuntimeFlavor::MultiThread {
            return Err(needs_runtime());
        }
        let digest = digest_for(self.algorithm, msg);
        tokio::task::block_in_place(|| handle.block_on(self.sign_digest(digest)))
    }
}

#[cfg(test)]
mod tests {
    //! The adapter's reading of KMS `Sign` errors, on SDK error values built as the SDK's
    //! deserialisers build them (the wire code in the error metadata).

    use super::*;
    use aws_sdk_kms::config::http::HttpResponse;
    use aws_sdk_kms::error::{ErrorMetadata, SdkError};
    use aws_sdk_kms::operation::sign::SignError;
    use aws_sdk_kms::types::error::{DisabledException, KeyUnavailableException, KmsInvalidStateException};

    fn meta(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message("from the service").build()
    }

    fn sign_failed(error: SignError, status: u16) -> Error {
        let response = HttpResponse::new(status.try_into().expect("status"), "{}".into());
        kms_error("Sign", SdkError::service_error(error, response))
    }

    fn assert_retryable_503(error: &Error, what: &str) {
        assert!(matches!(error, Error::Unavailable(_)), "{what}: {error:?}");
        assert_eq!(error.status(), http::StatusCode::SERVICE_UNAVAILABLE, "{what}");
        assert!(error.retryable(), "{what}");
        assert_eq!(error.public_message(), "service temporarily unavailable", "{what}: the cause stays in the log");
    }

    #[test]
    fn a_throttled_sign_is_a_retryable_503() {
        let error = sign_failed(SignError::generic(meta("ThrottlingException")), 400);
        assert_retryable_503(&error, "ThrottlingException");
        assert!(error.to_string().contains("ThrottlingException"), "the log names the KMS code: {error}");
    }

    #[test]
    fn a_key_disabled_pending_deletion_or_unavailable_is_a_retryable_503_not_an_internal_fault() {
        let refusals = [
            ("DisabledException", SignError::DisabledException(DisabledException::builder().meta(meta("DisabledException")).build())),
            ("KMSInvalidStateException", SignError::KmsInvalidStateException(KmsInvalidStateException::builder().meta(meta("KMSInvalidStateException")).build())),
            ("KeyUnavailableException", SignError::KeyUnavailableException(KeyUnavailableException::builder().meta(meta("KeyUnavailableException")).build())),
        ];
        for (code, error) in refusals {
            assert_retryable_503(&sign_failed(error, 400), code);
        }
    }

    #[test]
    fn a_kms_server_fault_is_a_503_and_any_other_refusal_an_internal_fault() {
        assert_retryable_503(&sign_failed(SignError::generic(meta("KMSInternalException")), 500), "KMSInternalException");
        let denied = sign_failed(SignError::generic(meta("AccessDeniedException")), 400);
        assert!(matches!(denied, Error::Internal(_)), "{denied:?}");
    }
}
