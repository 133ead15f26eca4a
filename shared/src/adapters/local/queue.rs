//! The in-process [`Queue`]: jobs persisted in the store, so they survive a restart.
//!
//! It mirrors SQS with a redrive policy: a job that fails is retried once its backoff has
//! passed (exponential in its attempts, stored as `not_before`), and after `max_attempts`
//! failures it moves to a dead-letter partition instead of being lost;
//! [`LocalQueue::redrive`] moves dead letters back. At most `concurrency` jobs run at once.

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
const DEFAULT_CONCURRENCY: usize = 4;
const PAGE: u32 = 100;

/// Delay before a failed job's next attempt: `base * 2^(attempts - 1)`, at most `cap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// Retry on the next drain (what [`LocalQueue::new`] starts with).
    pub const NONE: Backoff = Backoff { base: Duration::ZERO, cap: Duration::ZERO };
    /// 1 s doubling per failed attempt, at most 5 minutes: what [`super::open`] (so `trustplane
    /// serve`) uses unless `QUEUE_RETRY_BACKOFF` is off.
    pub const STANDARD: Backoff = Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(300) };

    /// The delay after the `attempts`-th failure (1 = the first).
    pub fn after(&self, attempts: u64) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31) as u32;
        self.base.saturating_mul(1 << doublings).min(self.cap)
    }
}

/// Unix time in milliseconds.
fn now_millis() -> Result<u64> {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(Error::internal)?;
    u64::try_from(since.as_millis()).map_err(Error::internal)
}

/// True if `job` has no `not_before` or it has passed.
fn is_due(job: &Item, now: u64) -> bool {
    job.data.get("not_before").and_then(|n| n.as_u64()).is_none_or(|not_before| not_before <= now)
}

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
    backoff: Backoff,
    concurrency: usize,
}

enum Outcome {
    Processed,
    Failed,
    DeadLettered,
    /// Another drainer got to the job first.
    Skipped,
}

impl LocalQueue {
    /// A queue over `store`, dead-lettering after 5 failed attempts, polling every second,
    /// retrying on the next drain and running 4 jobs at once.
    pub fn new(store: Arc<dyn Store>) -> Self {
        LocalQueue {
            store,
            notify: Notify::new(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            poll_interval: DEFAULT_POLL_INTERVAL,
            backoff: Backoff::NONE,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Waits `backoff.after(attempts)` before retrying a failed job (default [`Backoff::NONE`]).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Runs at most `n` jobs at once (at least 1; default 4).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
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

    /// Runs every due job once, at most `concurrency` at a time: deletes successes, records a
    /// failed attempt (and its backoff) on each failure and dead-letters jobs that reached
    /// `max_attempts`. Jobs still backing off wait for a later drain.
    pub async fn drain_once(&self, handler: &dyn JobHandler) -> Result<DrainReport> {
        use futures::StreamExt;
        let jobs = self.pending().await?;
        let runs = futures::stream::iter(jobs.into_iter().map(|job| self.run_job(job, handler)));
        let outcomes: Vec<_> = runs.buffer_unordered(self.concurrency).collect().await;
        let mut report = DrainReport::default();
        let mut first_error = None;
        for outcome in outcomes {
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

    /// Moves every dead-lettered job back to the queue with its attempts reset (what
    /// `trustplane admin redrive` does); returns how many moved.
    pub async fn redrive(&self) -> Result<usize> {
        let dead = self.partition(DEAD_LETTER_PARTITION).await?;
        let moved = dead.len();
        for job in dead {
            self.store.transact(redrive_writes(job)).await?;
        }
        if moved > 0 {
            self.notify.notify_one();
        }
        Ok(moved)
    }

    /// Queued jobs whose backoff has passed, oldest first.
    async fn pending(&self) -> Result<Vec<Item>> {
        let now = now_millis()?;
        Ok(self.partition(QUEUE_PARTITION).await?.into_iter().filter(|job| is_due(job, now)).collect())
    }

    async fn partition(&self, partition: &str) -> Result<Vec<Item>> {
        let mut query = Query::partition(partition);
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
            let delay = u64::try_from(self.backoff.after(attempts).as_millis()).unwrap_or(u64::MAX);
            next.data["not_before"] = json!(now_millis()?.saturating_add(delay));
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

/// Deletes a dead letter and queues it again under the same sort key, due now, attempts reset.
fn redrive_writes(dead: Item) -> Vec<Write> {
    let mut job = dead.clone();
    job.pk = QUEUE_PARTITION.into();
    job.version = 1;
    job.data["attempts"] = json!(0);
    if let Some(data) = job.data.as_object_mut() {
        data.remove("not_before");
    }
    vec![
        Write::Delete { pk: dead.pk, sk: dead.sk, condition: Condition::Version(dead.version) },
        Write::Put { item: job, condition: Condition::Absent },
    ]
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

    /// Counts the jobs running at once and remembers the most.
    #[derive(Default)]
    struct Crowd {
        running: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
    }

    #[async_trait]
    impl JobHandler for Crowd {
        async fn handle(&self, _: &str) -> Result<()> {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.running.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.running.fetch_sub(1, SeqCst);
            Ok(())
        }
    }

    fn queue_in(dir: &tempfile::TempDir) -> (Arc<dyn Store>, LocalQueue) {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("q.db")).unwrap());
        (store.clone(), LocalQueue::new(store))
    }

    const HOUR: Backoff = Backoff { base: Duration::from_secs(3600), cap: Duration::from_secs(7200) };

    #[test]
    fn the_backoff_doubles_with_each_attempt_up_to_its_cap() {
        let backoff = Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(10) };
        let delays: Vec<u64> = (1..=6).map(|n| backoff.after(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
        assert_eq!(backoff.after(u64::MAX), Duration::from_secs(10));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_failed_job_is_not_retried_before_its_backoff_has_passed() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, queue) = queue_in(&tmp);
        let queue = queue.with_backoff(HOUR);
        queue.send("bad".into()).await.unwrap();
        assert_eq!(queue.drain_once(&Flaky).await.unwrap().failed, 1);
        assert_eq!(queue.drain_once(&Flaky).await.unwrap(), DrainReport::default(), "retried during its backoff");
        let job = store.query(Query::partition(QUEUE_PARTITION)).await.unwrap().items.remove(0);
        let not_before = job.data["not_before"].as_u64().unwrap();
        assert!(not_before >= now_millis().unwrap() + 3_500_000, "not_before {not_before} is not an hour away");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn no_more_jobs_than_the_concurrency_limit_run_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, queue) = queue_in(&tmp);
        let queue = queue.with_concurrency(2);
        for _ in 0..6 {
            queue.send("good".into()).await.unwrap();
        }
        let crowd = Crowd::default();
        assert_eq!(queue.drain_once(&crowd).await.unwrap().processed, 6);
        assert_eq!(crowd.most.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn redrive_moves_dead_letters_back_to_the_queue_with_fresh_attempts() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, queue) = queue_in(&tmp);
        let queue = queue.with_max_attempts(1);
        queue.send("bad".into()).await.unwrap();
        assert_eq!(queue.drain_once(&Flaky).await.unwrap().dead_lettered, 1);
        assert_eq!(queue.redrive().await.unwrap(), 1);
        assert!(store.query(Query::partition(DEAD_LETTER_PARTITION)).await.unwrap().items.is_empty());
        let queued = store.query(Query::partition(QUEUE_PARTITION)).await.unwrap().items;
        assert_eq!((queued.len(), queued[0].data["attempts"].as_u64(), queued[0].data["body"].as_str()), (1, Some(0), Some("bad")));
        assert_eq!(queue.redrive().await.unwrap(), 0);
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
