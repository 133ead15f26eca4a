//! `Blobs`: what is put reads back byte for byte; a key never put reads as `None`.

use crate::backend::Backend;
use trustplane_core::domain::BlobKey;

pub async fn a_stored_blob_reads_back_and_a_missing_one_is_none(b: Backend) {
    let blobs = b.ports.blobs.as_ref();
    let key = BlobKey::parse(&format!("crl/{}.crl", uuid::Uuid::new_v4())).unwrap();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let location = blobs.put(&key, bytes.clone(), "application/pkix-crl").await.expect("put");
    assert!(location.ends_with(key.as_str()), "location {location:?} does not name the key");
    assert_eq!(blobs.get(&key).await.expect("get"), Some(bytes));
    blobs.put(&key, b"replaced".to_vec(), "application/pkix-crl").await.expect("overwrite");
    assert_eq!(blobs.get(&key).await.expect("get").as_deref(), Some(&b"replaced"[..]));
    let missing = BlobKey::parse("crl/never-written.crl").unwrap();
    assert_eq!(blobs.get(&missing).await.expect("get of a missing key"), None);
}
