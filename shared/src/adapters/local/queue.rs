//! The in-process [`Queue`]: jobs persisted in the store, so they survive a restart.
//!
//! It mirrors SQS with a redrive policy: a job that fails is retried on a later drain, and
//! after `max_attempts` failures it moves to a dead-letter partition instead of being lost.

use crate::error::{Error, Result};
use crate::jobs::JobHandler;
use crate::ports::{Condition, Item, Query, Queue, Store, Write};
use async_trait::async_trait;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// Partition of pending jobs; sort key `<zero-padded unix nanos>#<uuid>` (oldest first).
pub const QUEUE_PARTITION: &str = "JOBQ";
/// Partition of jobs that failed `max_attempts` times (the dead-letter queue), same sort keys.
pub const DEAD_LETTER_PARTITION: &str = "JOBDLQ";

const DEFAULT_MAX_ATTEMPTS: u32 = 5;
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
const PAGE: u32 = 100;

/// What one [`LocalQueue::drain_once`] did; each drained job counts in exactly one field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Jobs handled successfully and deleted.
    pub processed: usize,
    /// Jobs that failed and stay queued for another attempt.
    pub failed: usize,
    /// Jobs that failed for the last time and moved to the dead-letter partition.
    pub dead_lettered: usize,
}

/// The embedded job queue (`serve`): [`Queue::send`] stores a job and wakes [`LocalQueue::run`].
pub struct LocalQueue {
    store: Arc<dyn Store>,
    notify: Notify,
    max_attempts: u32,
    poll_interval: Duration,
}

enum Outcome {
    Processed,
    Failed,
    DeadLettered,
    /// Another drainer got to the job first.
    Skipped,
}

impl LocalQueue {
    /// A queue over `store`, dead-lettering after 5 failed attempts, polling every second.
    pub fn new(store: Arc<dyn Store>) -> Self {
        LocalQueue {
            store,
            notify: Notify::new(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }

    /// Dead-letters a job after `n` failed attempts (at least 1).
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// How long [`LocalQueue::run`] waits between drains when nothing is sent (the retry delay).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Runs every pending job once, concurrently: deletes successes, counts a failed attempt
    /// on each failure and dead-letters jobs that reached `max_attempts`.
    pub async fn drain_once(&self, handler: &dyn JobHandler) -> Result<DrainReport> {
        let jobs = self.pending().await?;
        let runs = jobs.into_iter().map(|job| self.run_job(job, handler));
        let mut report = DrainReport::default();
        let mut first_error = None;
        for outcome in futures::future::join_all(runs).await {
            match outcome {
                Ok(Outcome::Processed) => report.processed += 1,
                Ok(Outcome::Failed) => report.failed += 1,
                Ok(Outcome::DeadLettered) => report.dead_lettered += 1,
                Ok(Outcome::Skipped) => {}
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        first_error.map_or(Ok(report), Err)
    }

    /// Drains until `shutdown` turns true (or its sender goes): after each drain, waits for a
    /// send or for the poll interval, whichever comes first, so failed jobs are retried.
    pub async fn run(self: Arc<Self>, handler: Arc<dyn JobHandler>, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            match self.drain_once(handler.as_ref()).await {
                Ok(r) if r != DrainReport::default() => tracing::info!(?r, "drained job queue"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "draining the job queue failed"),
            }
            tokio::select! {
                _ = self.notify.notified() => {}
                _ = tokio::time::sleep(self.poll_interval) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
    }

    async fn pending(&self) -> Result<Vec<Item>> {
        let mut query = Query::partition(QUEUE_PARTITION);
        query.limit = PAGE;
        let mut jobs = Vec::new();
        loop {
            let page = self.store.query(query.clone()).await?;
            jobs.extend(page.items);
            match page.cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => return Ok(jobs),
            }
        }
    }

    async fn run_job(&self, job: Item, handler: &dyn JobHandler) -> Result<Outcome> {
        let attempt = job.data.get("attempts").and_then(|a| a.as_u64()).unwrap_or(0) + 1;
        let outcome = match job.data.get("body").and_then(|b| b.as_str()) {
            Some(body) => handler.handle_delivery(body, u32::try_from(attempt).unwrap_or(u32::MAX)).await,
            None => Err(Error::internal("queued job without a body")),
        };
        let written = match outcome {
            Ok(()) => {
                let delete = self.store.delete(&job.pk, &job.sk, Condition::Version(job.version)).await;
                delete.map(|()| Outcome::Processed)
            }
            Err(e) => {
                tracing::warn!(job = %job.sk, error = %e, "job failed");
                self.record_failure(job, &e).await
            }
        };
        match written {
            Err(Error::Conflict(_)) => Ok(Outcome::Skipped),
            other => other,
        }
    }

    async fn record_failure(&self, job: Item, error: &Error) -> Result<Outcome> {
        let attempts = job.data.get("attempts").and_then(|a| a.as_u64()).unwrap_or(0) + 1;
        let mut next = job.clone();
        next.version = job.version + 1;
        next.data["attempts"] = json!(attempts);
        next.data["last_error"] = json!(error.to_string());
        if attempts < u64::from(self.max_attempts) {
            self.store.put(next, Condition::Version(job.version)).await?;
            return Ok(Outcome::Failed);
        }
        next.pk = DEAD_LETTER_PARTITION.into();
        next.version = 1;
        tracing::error!(job = %job.sk, attempts, "job dead-lettered");
        self.store
            .transact(vec![
                Write::Delete { pk: job.pk, sk: job.sk, condition: Condition::Version(job.version) },
                Write::Put { item: next, condition: Condition::Absent },
            ])
            .await?;
        Ok(Outcome::DeadLettered)
    }
}

#[async_trait]
impl Queue for LocalQueue {
    async fn send(&self, body: String) -> Result<()> {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(Error::internal)?.as_nanos();
        let sk = format!("{nanos:020}#{}", uuid::Uuid::new_v4());
        let job = Item::new(QUEUE_PARTITION, sk, json!({ "body": body, "attempts": 0 }));
        self.store.put(job, Condition::Absent).await?;
        self.notify.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::local::SqliteStore;

    struct Flaky;

    #[async_trait]
    impl JobHandler for Flaky {
        async fn handle(&self, body: &str) -> Result<()> {
            if body == "bad" {
                Err(Error::Unavailable("down".into()))
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn run_drains_what_is_sent_and_stops_on_shutdown() {
        let tmp = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&tmp.path().join("q.db")).unwrap());
        let queue = Arc::new(LocalQueue::new(store.clone()).with_poll_interval(Duration::from_secs(60)));
        let (stop, stopped) = watch::channel(false);
        let worker = tokio::spawn(queue.clone().run(Arc::new(Flaky), stopped));
        queue.send("good".into()).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !store.query(Query::partition(QUEUE_PARTITION)).await.unwrap().items.is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "job never drained");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), worker).await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn jobs_sent_before_a_restart_are_drained_after_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("q.db");
        let before = LocalQueue::new(Arc::new(SqliteStore::open(&path).unwrap()));
        before.send("good".into()).await.unwrap();
        drop(before);
        let after = LocalQueue::new(Arc::new(SqliteStore::open(&path).unwrap()));
        let report = after.drain_once(&Flaky).await.unwrap();
        assert_eq!(report, DrainReport { processed: 1, failed: 0, dead_lettered: 0 });
    }
}
