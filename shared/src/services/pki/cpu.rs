//! Admission control for CPU-heavy PKI work (RSA key generation for authorities and OCSP
//! responders, large CRL builds): at most `permits` jobs run at once and at most `queue` more
//! wait for a slot; beyond that the caller gets [`Error::Busy`] at once (503 with
//! `Retry-After`, retryable; RFC 9110 §15.6.4 and §10.2.3) instead of another thread competing
//! for the cores.
//!
//! One limit serves the whole process ([`process`]), since every request builds its own
//! service value; [`install`] sizes it before first use, else it is sized to the machine.

use crate::error::{Error, Result};
use crate::ports::{KeyAlgorithm, KeyCustody, KeyHandle};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// Seconds a refused caller is asked to wait (`Retry-After`): about one RSA-4096 generation.
pub const RETRY_AFTER_SECS: u64 = 5;
/// Waiting slots per running slot in the default limit.
const QUEUE_PER_PERMIT: usize = 2;

/// A bounded number of running and waiting CPU-heavy jobs.
#[derive(Debug)]
pub struct CpuLimit {
    admitted: Semaphore,
    running: Semaphore,
    permits: usize,
    queue: usize,
}

impl CpuLimit {
    /// At most `permits` (at least one) jobs at once and `queue` waiting; `queue` 0 refuses
    /// whatever cannot start at once.
    pub fn new(permits: usize, queue: usize) -> Self {
        let permits = permits.max(1);
        CpuLimit { admitted: Semaphore::new(permits + queue), running: Semaphore::new(permits), permits, queue }
    }

    /// One job per core (`std::thread::available_parallelism`) and two waiting per core.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        CpuLimit::new(cores, cores * QUEUE_PER_PERMIT)
    }

    /// `(permits, queue)`.
    pub fn size(&self) -> (usize, usize) {
        (self.permits, self.queue)
    }

    /// Runs `work` (described by `what`, e.g. "RSA key generation") once a slot is free, or
    /// refuses it with [`Error::Busy`] if every slot and queue place is taken. The work runs
    /// as its own task and keeps its slot until it ends, even if the caller goes away, so a
    /// client that disconnects cannot free a slot while its job still burns a core.
    pub async fn run<T, F>(&'static self, what: &str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let Ok(admitted) = self.admitted.try_acquire() else {
            tracing::warn!(what, permits = self.permits, queue = self.queue, "CPU-heavy work refused: the queue is full");
            return Err(Error::Busy { message: format!("too much {what} in progress; retry later"), retry_after_secs: RETRY_AFTER_SECS });
        };
        let job = tokio::spawn(async move {
            let _admitted = admitted;
            let _running = self.running.acquire().await.map_err(Error::internal)?;
            work.await
        });
        job.await.map_err(Error::internal)?
    }
}

/// A new custody key for `owner`; RSA generation (seconds of CPU in embedded custody) runs
/// behind the [`process`] limit, so a refused caller creates nothing.
pub(crate) async fn create_key(custody: &Arc<dyn KeyCustody>, owner: &str, algorithm: KeyAlgorithm) -> Result<KeyHandle> {
    if !algorithm.is_rsa() {
        return custody.create_key(owner, algorithm).await;
    }
    let (custody, owner) = (custody.clone(), owner.to_owned());
    process().run("RSA key generation", async move { custody.create_key(&owner, algorithm).await }).await
}

static PROCESS: OnceLock<CpuLimit> = OnceLock::new();

/// Makes `limit` the process-wide limit; gives it back if the limit is already fixed (by an
/// earlier `install` or by first use).
pub fn install(limit: CpuLimit) -> std::result::Result<(), CpuLimit> {
    PROCESS.set(limit)
}

/// The process-wide limit: the installed one, else [`CpuLimit::for_this_machine`].
pub fn process() -> &'static CpuLimit {
    PROCESS.get_or_init(CpuLimit::for_this_machine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn leaked(permits: usize, queue: usize) -> &'static CpuLimit {
        Box::leak(Box::new(CpuLimit::new(permits, queue)))
    }

    async fn sleeper(limit: &'static CpuLimit, ms: u64) -> Result<u64> {
        limit.run("sleeping", async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(ms)
        })
        .await
    }

    #[tokio::test]
    async fn with_one_permit_and_no_queue_a_second_job_is_busy_with_a_retry_after() {
        let limit = leaked(1, 0);
        let first = tokio::spawn(sleeper(limit, 200));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = sleeper(limit, 1).await.unwrap_err();
        assert!(matches!(&second, Error::Busy { message, .. } if message.contains("sleeping")), "{second:?}");
        assert_eq!((second.status().as_u16(), second.retry_after(), second.retryable()), (503, Some(RETRY_AFTER_SECS), true));
        assert_eq!(first.await.unwrap().unwrap(), 200);
        assert_eq!(sleeper(limit, 1).await.unwrap(), 1, "the slot is free again");
    }

    #[tokio::test]
    async fn queued_jobs_wait_their_turn_and_run_one_at_a_time() {
        let limit = leaked(1, 2);
        let started = std::time::Instant::now();
        let jobs: Vec<_> = (0..3).map(|_| tokio::spawn(sleeper(limit, 100))).collect();
        for job in jobs {
            assert_eq!(job.await.unwrap().unwrap(), 100);
        }
        assert!(started.elapsed() >= Duration::from_millis(300), "ran one at a time: {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_keeps_its_job_and_its_slot_until_the_job_ends() {
        let limit = leaked(1, 0);
        let abandoned = tokio::spawn(sleeper(limit, 300));
        tokio::time::sleep(Duration::from_millis(50)).await;
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        assert!(matches!(sleeper(limit, 1).await, Err(Error::Busy { .. })), "the abandoned job still holds the slot");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(sleeper(limit, 1).await.unwrap(), 1);
    }

    #[test]
    fn a_limit_has_at_least_one_permit_and_the_default_follows_the_cores() {
        assert_eq!(CpuLimit::new(0, 0).size(), (1, 0));
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(CpuLimit::for_this_machine().size(), (cores, 2 * cores));
    }
}
