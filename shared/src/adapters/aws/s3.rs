//! [`Blobs`] in an S3 bucket: published CRLs and backups.

use super::sdk_error;
use crate::domain::BlobKey;
use crate::error::{Error, Result};
use crate::ports::{BlobCondition, Blobs, TaggedBlob};
use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::put_object::PutObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

/// What S3 answers a conditional `PutObject` whose condition does not hold: 412 for a tag
/// that no longer matches or an object that exists, 409 when a concurrent conditional write
/// won, 404 for `If-Match` on an object that is gone.
const CONDITION_FAILED: [&str; 3] = ["PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"];

/// Objects in one bucket, keyed by [`BlobKey`] (S3 `PutObject`/`GetObject`).
#[derive(Clone, Debug)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
}

impl S3Blobs {
    /// Blobs in `bucket`. Build the client with `force_path_style` for emulators such as moto.
    pub fn new(client: Client, bucket: String) -> Self {
        S3Blobs { client, bucket }
    }

    fn location(&self, key: &BlobKey) -> String {
        format!("s3://{}/{}", self.bucket, key)
    }

    async fn fetch(&self, key: &BlobKey) -> Result<Option<TaggedBlob>> {
        let sent = self.client.get_object().bucket(&self.bucket).key(key.as_str()).send().await;
        let out = match sent {
            Ok(out) => out,
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => return Ok(None),
            Err(e) => return Err(sdk_error("GetObject", e)),
        };
        let tag = out.e_tag().map(str::to_owned).ok_or_else(|| Error::internal("GetObject answered without an ETag"))?;
        let body = out.body.collect().await.map_err(|e| Error::Unavailable(format!("GetObject body: {e}")))?;
        Ok(Some(TaggedBlob { bytes: body.into_bytes().to_vec(), tag }))
    }
}

fn put_error(key: &BlobKey, err: SdkError<PutObjectError>) -> Error {
    let status = err.raw_response().map(|r| r.status().as_u16());
    if err.code().is_some_and(|code| CONDITION_FAILED.contains(&code)) || status == Some(412) {
        return Error::Conflict(format!("blob {key} changed since it was read"));
    }
    sdk_error("PutObject", err)
}

#[async_trait]
impl Blobs for S3Blobs {
    /// S3 `PutObject`; returns `s3://<bucket>/<key>`.
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str) -> Result<String> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| sdk_error("PutObject", e))?;
        Ok(self.location(key))
    }

    /// S3 `GetObject`; `None` on `NoSuchKey`.
    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>> {
        Ok(self.fetch(key).await?.map(|blob| blob.bytes))
    }

    /// S3 `GetObject` with its `ETag`; `None` on `NoSuchKey` (without `s3:ListBucket`, S3
    /// answers a missing object with 403, which is an error here).
    async fn get_tagged(&self, key: &BlobKey) -> Result<Option<TaggedBlob>> {
        self.fetch(key).await
    }

    /// S3 conditional `PutObject`: `If-None-Match: *` or `If-Match: <ETag>`, which S3 checks
    /// atomically with the write.
    async fn put_if(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str, condition: BlobCondition) -> Result<String> {
        let request = self.client.put_object().bucket(&self.bucket).key(key.as_str()).content_type(content_type).body(ByteStream::from(bytes));
        let request = match condition {
            BlobCondition::Absent => request.if_none_match("*"),
            BlobCondition::Tagged(tag) => request.if_match(tag),
        };
        request.send().await.map_err(|e| put_error(key, e))?;
        Ok(self.location(key))
    }
}
