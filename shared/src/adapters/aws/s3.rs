//! [`Blobs`] in an S3 bucket: published CRLs and backups.

use super::sdk_error;
use crate::domain::BlobKey;
use crate::error::{Error, Result};
use crate::ports::Blobs;
use async_trait::async_trait;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

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
        Ok(format!("s3://{}/{}", self.bucket, key))
    }

    /// S3 `GetObject`; `None` on `NoSuchKey`.
    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>> {
        let sent = self.client.get_object().bucket(&self.bucket).key(key.as_str()).send().await;
        let out = match sent {
            Ok(out) => out,
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => return Ok(None),
            Err(e) => return Err(sdk_error("GetObject", e)),
        };
        let body = out.body.collect().await.map_err(|e| Error::Unavailable(format!("GetObject body: {e}")))?;
        Ok(Some(body.into_bytes().to_vec()))
    }
}
