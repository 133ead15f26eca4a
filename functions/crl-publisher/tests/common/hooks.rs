//! Fault hooks around the real blob store: a write that waits for a signal before it reaches
//! the store, a publisher that dies right after its write, and a log of the CRL number the
//! store holds after every write.

use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use trustplane_core::domain::BlobKey;
use trustplane_core::ports::{BlobCondition, Blobs, TaggedBlob};
use trustplane_core::{Error, Result};

/// The CRL numbers the real store held right after each write, in order.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<u64>>>);

impl Seen {
    pub fn numbers(&self) -> Vec<u64> {
        self.0.lock().unwrap().clone()
    }
}

/// Lets a paused write go on, and tells when it has reached its pause.
#[derive(Clone)]
pub struct Pause {
    reached: Arc<Semaphore>,
    release: Arc<Semaphore>,
}

impl Pause {
    pub fn new() -> Pause {
        Pause { reached: Arc::new(Semaphore::new(0)), release: Arc::new(Semaphore::new(0)) }
    }

    /// Waits until the hooked publisher is about to write.
    pub async fn reached(&self) {
        self.reached.acquire().await.unwrap().forget();
    }

    /// Lets it write, now and from now on.
    pub fn release(&self) {
        self.release.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}

/// The real blob store with hooks on its writes and reads.
#[derive(Clone)]
pub struct Hooked {
    inner: Arc<dyn Blobs>,
    seen: Seen,
    pause: Option<Pause>,
    die_after_write: bool,
    fail_writes: bool,
    deny_missing: bool,
}

impl Hooked {
    /// Logs the stored CRL number after every write.
    pub fn watching(inner: Arc<dyn Blobs>, seen: &Seen) -> Hooked {
        Hooked { inner, seen: seen.clone(), pause: None, die_after_write: false, fail_writes: false, deny_missing: false }
    }

    /// Waits for `pause` before each write.
    pub fn pausing(self, pause: &Pause) -> Hooked {
        Hooked { pause: Some(pause.clone()), ..self }
    }

    /// Never returns from a write that reached the store (the test then aborts the
    /// publisher's task, as a crash would).
    pub fn dying_after_write(self) -> Hooked {
        Hooked { die_after_write: true, ..self }
    }

    /// Every write fails as an unreachable store does.
    pub fn failing_writes(self) -> Hooked {
        Hooked { fail_writes: true, ..self }
    }

    /// A missing object reads as S3's 403 to a role without `s3:ListBucket`.
    pub fn denying_missing(self) -> Hooked {
        Hooked { deny_missing: true, ..self }
    }

    pub fn into_blobs(self) -> Arc<dyn Blobs> {
        Arc::new(self)
    }

    fn missing<T>(&self, found: Option<T>) -> Result<Option<T>> {
        match found {
            None if self.deny_missing => Err(Error::Internal("GetObject: AccessDenied: Access Denied".into())),
            found => Ok(found),
        }
    }

    async fn before_write(&self) -> Result<()> {
        if self.fail_writes {
            return Err(Error::Unavailable("PutObject: the blob store is down".into()));
        }
        if let Some(pause) = &self.pause {
            pause.reached.add_permits(1);
            pause.release.acquire().await.unwrap().forget();
        }
        Ok(())
    }

    async fn after_write(&self, key: &BlobKey) {
        if let Some(der) = self.inner.get(key).await.unwrap() {
            self.seen.0.lock().unwrap().push(super::crl_number(&der));
        }
        if self.die_after_write {
            std::future::pending::<()>().await;
        }
    }
}

#[async_trait]
impl Blobs for Hooked {
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str) -> Result<String> {
        self.before_write().await?;
        let location = self.inner.put(key, bytes, content_type).await?;
        self.after_write(key).await;
        Ok(location)
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>> {
        self.missing(self.inner.get(key).await?)
    }

    async fn get_tagged(&self, key: &BlobKey) -> Result<Option<TaggedBlob>> {
        self.missing(self.inner.get_tagged(key).await?)
    }

    async fn put_if(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str, condition: BlobCondition) -> Result<String> {
        self.before_write().await?;
        let location = self.inner.put_if(key, bytes, content_type, condition).await?;
        self.after_write(key).await;
        Ok(location)
    }
}

/// A job queue that cannot be reached.
pub struct DownQueue;

#[async_trait]
impl trustplane_core::ports::Queue for DownQueue {
    async fn send(&self, _body: String) -> Result<()> {
        Err(Error::Unavailable("SendMessage: the queue is down".into()))
    }
}
