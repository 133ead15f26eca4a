use super::*;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread")]
async fn put_replaces_a_blob_and_leaves_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let blobs = DirBlobs::new(tmp.path().to_path_buf()).unwrap();
    let key = BlobKey::parse("crl/a.crl").unwrap();
    blobs.put(&key, b"one".to_vec(), "application/pkix-crl").await.unwrap();
    let location = blobs.put(&key, b"two".to_vec(), "application/pkix-crl").await.unwrap();
    assert_eq!(location, tmp.path().join("crl/a.crl").display().to_string());
    assert_eq!(blobs.get(&key).await.unwrap().as_deref(), Some(&b"two"[..]));
    let names: Vec<_> = std::fs::read_dir(tmp.path().join("crl")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["a.crl"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn of_writers_holding_the_same_tag_exactly_one_succeeds_across_store_instances() {
    let tmp = tempfile::tempdir().unwrap();
    let key = BlobKey::parse("crl/a.crl").unwrap();
    DirBlobs::new(tmp.path().to_path_buf()).unwrap().put(&key, b"first".to_vec(), "").await.unwrap();
    let tag = DirBlobs::new(tmp.path().to_path_buf()).unwrap().get_tagged(&key).await.unwrap().unwrap().tag;
    let start = Arc::new(tokio::sync::Barrier::new(16));
    let writers = (0..16u8).map(|i| {
        let (blobs, key, tag, start) = (DirBlobs::new(tmp.path().to_path_buf()).unwrap(), key.clone(), tag.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            blobs.put_if(&key, vec![i; 64 * 1024], "", BlobCondition::Tagged(tag)).await
        })
    });
    let outcomes: Vec<_> = futures::future::join_all(writers).await.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o.is_ok() || matches!(o, Err(Error::Conflict(_)))), "{outcomes:?}");
}
