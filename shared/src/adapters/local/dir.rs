//! [`Blobs`] in a directory: each key is a file path under the root.

use crate::domain::BlobKey;
use crate::error::{Error, Result};
use crate::ports::Blobs;
use async_trait::async_trait;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The embedded blob store: `<root>/<key>`, written atomically (temporary file, then rename).
/// The content type is not stored; readers infer it from the key's extension.
pub struct DirBlobs {
    root: PathBuf,
}

impl DirBlobs {
    /// Uses `root` for blobs, creating it if needed.
    pub fn new(root: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&root)
            .map_err(|e| Error::internal(format!("cannot create blob directory {}: {e}", root.display())))?;
        Ok(DirBlobs { root })
    }

    /// The file a key maps to (`BlobKey` has no empty, `.` or `..` segment, so it stays under root).
    pub fn path_of(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }
}

#[async_trait]
impl Blobs for DirBlobs {
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, _content_type: &str) -> Result<String> {
        let path = self.path_of(key);
        blocking(move || {
            write_atomically(&path, &bytes)?;
            Ok(path.display().to_string())
        })
        .await
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>> {
        let path = self.path_of(key);
        blocking(move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::internal(format!("cannot read blob {}: {e}", path.display()))),
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal(format!("blob task failed: {e}")))?
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |e: std::io::Error| Error::internal(format!("cannot write blob {}: {e}", path.display()));
    let parent = path.parent().ok_or_else(|| Error::internal("blob path without a parent"))?;
    std::fs::create_dir_all(parent).map_err(fail)?;
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = parent.join(format!(".{file_name}.{}.tmp", uuid::Uuid::new_v4()));
    let written = std::fs::File::create_new(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&temp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(fail(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn put_replaces_a_blob_and_leaves_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let blobs = DirBlobs::new(tmp.path().to_path_buf()).unwrap();
        let key = BlobKey::parse("crl/a.crl").unwrap();
        blobs.put(&key, b"one".to_vec(), "application/pkix-crl").await.unwrap();
        let location = blobs.put(&key, b"two".to_vec(), "application/pkix-crl").await.unwrap();
        assert_eq!(location, tmp.path().join("crl/a.crl").display().to_string());
        assert_eq!(blobs.get(&key).await.unwrap().as_deref(), Some(&b"two"[..]));
        let names: Vec<_> =
            std::fs::read_dir(tmp.path().join("crl")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["a.crl"]);
    }
}
