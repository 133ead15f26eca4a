//! The `Blobs` port's conditional write, a compare-and-swap on the blob's tag (RFC 9110
//! §13.1.1 `If-Match`, §13.1.2 `If-None-Match: *`), on the directory store and on S3 (moto,
//! whose URL `infra/test.sh` exports as `TRUSTPLANE_TEST_AWS_ENDPOINT`).

use trustplane_core::adapters::aws::S3Blobs;
use trustplane_core::adapters::local::DirBlobs;
use trustplane_core::domain::BlobKey;
use trustplane_core::ports::{BlobCondition, Blobs};
use trustplane_core::Error;

async fn s3() -> S3Blobs {
    let endpoint = std::env::var("TRUSTPLANE_TEST_AWS_ENDPOINT").expect("TRUSTPLANE_TEST_AWS_ENDPOINT is not set: run through infra/test.sh");
    let credentials = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "moto");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .load()
        .await;
    let client = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let bucket = format!("tp-blobs-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    client.create_bucket().bucket(&bucket).send().await.expect("create bucket");
    S3Blobs::new(client, bucket)
}

fn conflict<T: std::fmt::Debug>(outcome: trustplane_core::Result<T>) -> bool {
    matches!(outcome, Err(Error::Conflict(_)))
}

async fn a_write_succeeds_only_while_the_blob_is_as_it_was_read(blobs: &dyn Blobs) {
    let key = BlobKey::parse(&format!("crl/{}.crl", uuid::Uuid::new_v4())).unwrap();
    assert_eq!(blobs.get_tagged(&key).await.unwrap(), None);
    assert!(conflict(blobs.put_if(&key, b"one".to_vec(), "application/pkix-crl", BlobCondition::Tagged("\"0\"".into())).await), "If-Match on nothing");
    assert_eq!(blobs.get(&key).await.unwrap(), None, "a failed write leaves nothing");
    blobs.put_if(&key, b"one".to_vec(), "application/pkix-crl", BlobCondition::Absent).await.expect("If-None-Match on nothing");
    let one = blobs.get_tagged(&key).await.unwrap().expect("the first version");
    assert_eq!(one.bytes, b"one");
    assert!(conflict(blobs.put_if(&key, b"two".to_vec(), "application/pkix-crl", BlobCondition::Absent).await), "If-None-Match on a blob");
    let location = blobs.put_if(&key, b"two".to_vec(), "application/pkix-crl", BlobCondition::Tagged(one.tag.clone())).await.expect("If-Match on the read tag");
    assert!(location.ends_with(key.as_str()), "{location}");
    let two = blobs.get_tagged(&key).await.unwrap().expect("the second version");
    assert_eq!(two.bytes, b"two");
    assert_ne!(two.tag, one.tag, "the tag changes with the bytes");
    assert!(conflict(blobs.put_if(&key, b"three".to_vec(), "application/pkix-crl", BlobCondition::Tagged(one.tag)).await), "If-Match on a stale tag");
    assert_eq!(blobs.get(&key).await.unwrap().as_deref(), Some(&b"two"[..]), "a refused write changes nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn directory_a_conditional_write_succeeds_only_while_the_blob_is_as_it_was_read() {
    let dir = tempfile::tempdir().unwrap();
    a_write_succeeds_only_while_the_blob_is_as_it_was_read(&DirBlobs::new(dir.path().to_path_buf()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_a_conditional_write_succeeds_only_while_the_blob_is_as_it_was_read() {
    a_write_succeeds_only_while_the_blob_is_as_it_was_read(&s3().await).await;
}
