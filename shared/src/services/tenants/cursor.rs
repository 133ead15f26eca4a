//! The tenant list's own cursor: which status partition to resume and the store's (sealed)
//! cursor inside it, authenticated with the deployment's MAC key and bound to the filter, so
//! a forged or foreign cursor is a 400 rather than a different list.

use crate::error::{Error, Result};
use crate::ports::MacKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

const LABEL: &str = "trustplane/tenant-list-cursor/v1";
const TAG_BYTES: usize = 16;

fn bad_cursor() -> Error {
    Error::validation("cursor is not one this list returned")
}

fn message(filter: &str, payload: &str) -> Vec<u8> {
    format!("{LABEL}\n{filter}\n{payload}").into_bytes()
}

/// Seals `(partition index, store cursor)` for the list filtered by `filter`.
pub async fn seal(key: &dyn MacKey, filter: &str, idx: usize, inner: Option<&str>) -> Result<String> {
    let payload = format!("{idx}.{}", inner.unwrap_or_default());
    let tag = key.mac(&message(filter, &payload)).await?;
    Ok(format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])))
}

/// Opens a cursor [`seal`] made for the same `filter`; anything else is a validation error.
pub async fn open(key: &dyn MacKey, filter: &str, cursor: &str, partitions: usize) -> Result<(usize, Option<String>)> {
    let (payload, tag) = cursor.split_once('.').ok_or_else(bad_cursor)?;
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad_cursor())?).map_err(|_| bad_cursor())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad_cursor())?;
    let expected = key.mac(&message(filter, &payload)).await?;
    if tag.len() != TAG_BYTES || !bool::from(expected[..TAG_BYTES].ct_eq(&tag)) {
        return Err(bad_cursor());
    }
    let (idx, inner) = payload.split_once('.').ok_or_else(bad_cursor)?;
    let idx: usize = idx.parse().map_err(|_| bad_cursor())?;
    if idx >= partitions {
        return Err(bad_cursor());
    }
    Ok((idx, (!inner.is_empty()).then(|| inner.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::local::KeyFileMac;

    #[tokio::test]
    async fn a_cursor_opens_only_for_its_own_filter_and_unedited() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyFileMac::open(&dir.path().join("k")).unwrap();
        let sealed = seal(&key, "all", 2, Some("abc")).await.unwrap();
        assert_eq!(open(&key, "all", &sealed, 5).await.unwrap(), (2, Some("abc".into())));
        assert!(open(&key, "QUEUED", &sealed, 5).await.is_err(), "another filter");
        assert!(open(&key, "all", "0.", 5).await.is_err(), "a hand-made cursor");
        let mut edited = sealed.into_bytes();
        edited[0] ^= 1;
        assert!(open(&key, "all", &String::from_utf8_lossy(&edited), 5).await.is_err());
    }
}
