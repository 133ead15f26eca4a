//! Group commit: writes that arrive while the connection is busy queue up, and whoever takes
//! the connection next commits every queued write in one transaction, with one WAL fsync
//! (`synchronous=FULL` makes each commit pay one). Each write runs in its own savepoint, so one
//! whose condition fails is rolled back alone and the others commit; each caller is answered
//! only after the shared `COMMIT` returned, so a write that returned is still on disk.

use super::{now, run};
use crate::error::{Error, Result};
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// One write: its statements, run inside the shared transaction at time `now`.
pub(super) type Job = Box<dyn FnOnce(&Connection, i64) -> Result<()> + Send>;

/// The queue of writes waiting for the connection.
#[derive(Default)]
pub(super) struct Group {
    queued: Mutex<Vec<(Job, oneshot::Sender<Result<()>>)>>,
    commits: AtomicU64,
}

impl Group {
    /// Queues `job`; its outcome arrives once a commit that included it returned.
    pub(super) fn push(&self, job: Job) -> oneshot::Receiver<Result<()>> {
        let (tx, rx) = oneshot::channel();
        self.queued.lock().unwrap_or_else(|p| p.into_inner()).push((job, tx));
        rx
    }

    /// How many transactions committed writes so far.
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Commits every queued write in one transaction on `conn` (held exclusively); whether
    /// there was any.
    pub(super) fn commit_queued(&self, conn: &Connection) -> bool {
        let queued = std::mem::take(&mut *self.queued.lock().unwrap_or_else(|p| p.into_inner()));
        if queued.is_empty() {
            return false;
        }
        let (jobs, answers): (Vec<Job>, Vec<oneshot::Sender<Result<()>>>) = queued.into_iter().unzip();
        let outcomes = match run(conn, "BEGIN IMMEDIATE") {
            Ok(()) => self.run_and_commit(conn, jobs),
            Err(e) => jobs.iter().map(|_| Err(copy(&e))).collect(),
        };
        for (answer, outcome) in answers.into_iter().zip(outcomes) {
            let _ = answer.send(outcome);
        }
        true
    }

    fn run_and_commit(&self, conn: &Connection, jobs: Vec<Job>) -> Vec<Result<()>> {
        let now = now();
        let outcomes: Vec<Result<()>> = jobs.into_iter().map(|job| in_savepoint(conn, job, now)).collect();
        match run(conn, "COMMIT") {
            Ok(()) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
                outcomes
            }
            Err(e) => {
                if !conn.is_autocommit() {
                    if let Err(rollback) = run(conn, "ROLLBACK") {
                        tracing::warn!(error = %rollback, "sqlite rollback failed");
                    }
                }
                outcomes.into_iter().map(|o| o.and(Err(copy(&e)))).collect()
            }
        }
    }
}

/// Runs `job` so that its failure undoes only its own statements.
fn in_savepoint(conn: &Connection, job: Job, now: i64) -> Result<()> {
    run(conn, "SAVEPOINT job")?;
    let outcome = job(conn, now);
    let end = match outcome {
        Ok(()) => run(conn, "RELEASE job"),
        Err(_) => run(conn, "ROLLBACK TO job").and_then(|()| run(conn, "RELEASE job")),
    };
    outcome.and(end)
}

/// The same failure for every write of a transaction that did not commit.
fn copy(e: &Error) -> Error {
    match e {
        Error::Unavailable(m) => Error::Unavailable(m.clone()),
        other => Error::Internal(other.to_string()),
    }
}
