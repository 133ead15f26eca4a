//! [`Blobs`] in a directory: each key is a file path under the root.

use crate::domain::BlobKey;
use crate::error::{Error, Result};
use crate::ports::{BlobCondition, Blobs, TaggedBlob};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The file whose exclusive lock every write holds, so that a conditional write's check and
/// its rename are one step for every process sharing the directory.
const LOCK_FILE: &str = ".blobs.lock";

/// The embedded blob store: `<root>/<key>`, written atomically (temporary file, then rename)
/// under an exclusive file lock. A blob's tag is the SHA-256 of its bytes. The content type is
/// not stored; readers infer it from the key's extension.
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

    async fn write(&self, key: &BlobKey, bytes: Vec<u8>, condition: Option<BlobCondition>) -> Result<String> {
        let (path, lock, key) = (self.path_of(key), self.root.join(LOCK_FILE), key.clone());
        blocking(move || {
            let _held = lock_exclusively(&lock)?;
            if let Some(condition) = condition {
                let current = read(&path)?.map(|bytes| tag_of(&bytes));
                let holds = match (&condition, &current) {
                    (BlobCondition::Absent, None) => true,
                    (BlobCondition::Tagged(expected), Some(current)) => expected == current,
                    _ => false,
                };
                if !holds {
                    return Err(Error::Conflict(format!("blob {key} changed since it was read")));
                }
            }
            write_atomically(&path, &bytes)?;
            Ok(path.display().to_string())
        })
        .await
    }
}

#[async_trait]
impl Blobs for DirBlobs {
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, _content_type: &str) -> Result<String> {
        self.write(key, bytes, None).await
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>> {
        let path = self.path_of(key);
        blocking(move || read(&path)).await
    }

    async fn get_tagged(&self, key: &BlobKey) -> Result<Option<TaggedBlob>> {
        let path = self.path_of(key);
        let found = blocking(move || read(&path)).await?;
        Ok(found.map(|bytes| TaggedBlob { tag: tag_of(&bytes), bytes }))
    }

    /// Compare-and-swap under the directory's lock: the current file's tag is checked and the
    /// new file renamed into place while no other writer can act.
    async fn put_if(&self, key: &BlobKey, bytes: Vec<u8>, _content_type: &str, condition: BlobCondition) -> Result<String> {
        self.write(key, bytes, Some(condition)).await
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal(format!("blob task failed: {e}")))?
}

fn tag_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::internal(format!("cannot read blob {}: {e}", path.display()))),
    }
}

/// Holds the lock until the returned file is dropped.
fn lock_exclusively(path: &Path) -> Result<std::fs::File> {
    let fail = |e: std::io::Error| Error::internal(format!("cannot lock {}: {e}", path.display()));
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(fail)?;
    file.lock().map_err(fail)?;
    Ok(file)
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
    match written.and_then(|()| std::fs::rename(&temp, path)).and_then(|()| sync_parent_dir(path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(fail(e))
        }
    }
}

/// Flushes the directory holding `path` to disk, so a file created or renamed there stays
/// after a power loss (the file's own `sync_all` does not persist its directory entry).
pub(super) fn sync_parent_dir(path: &Path) -> std::io::Result<()> {
    let parent = path.parent().ok_or_else(|| std::io::Error::other("path without a parent directory"))?;
    std::fs::File::open(parent)?.sync_all()
}

#[cfg(test)]
#[path = "dir_tests.rs"]
mod tests;
