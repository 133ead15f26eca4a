//! What a warm process keeps per deployment between requests, so an issuance reads only what
//! can change: subjects (never changed once created) and the certificates above each
//! authority, kept while the authority's own certificate is unchanged and for at most
//! [`CHAIN_TTL`], so a parent's renewed certificate is served within that time.

use super::counts::Counter;
use super::SubjectRecord;
use crate::ports::Store;
use crate::warm::PerInstance;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a chain is served from memory.
pub const CHAIN_TTL: Duration = Duration::from_secs(300);
/// Subjects kept before the cache starts over (a bound on memory, not on correctness).
const MAX_SUBJECTS: usize = 10_000;

struct Chain {
    kept_at: Instant,
    chain: Vec<Vec<u8>>,
}

/// The caches of one deployment (one store).
#[derive(Default)]
pub(crate) struct Warm {
    subjects: Mutex<HashMap<String, SubjectRecord>>,
    chains: Mutex<HashMap<String, Chain>>,
    counters: Mutex<HashMap<String, Counter>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Warm {
    /// The caches of the deployment whose store is `store`.
    pub(crate) fn of(store: &Arc<dyn Store>) -> Arc<Warm> {
        static ALL: PerInstance<dyn Store, Warm> = PerInstance::new();
        ALL.get_or_make(store, Warm::default)
    }

    pub(crate) fn subject(&self, id: &str) -> Option<SubjectRecord> {
        lock(&self.subjects).get(id).cloned()
    }

    pub(crate) fn keep_subject(&self, subject: &SubjectRecord) {
        let mut subjects = lock(&self.subjects);
        if subjects.len() >= MAX_SUBJECTS {
            subjects.clear();
        }
        subjects.insert(subject.id.clone(), subject.clone());
    }

    /// The chain kept for `authority_id` if it starts with `der` (its current certificate)
    /// and is younger than [`CHAIN_TTL`].
    pub(crate) fn chain(&self, authority_id: &str, der: &[u8]) -> Option<Vec<Vec<u8>>> {
        let chains = lock(&self.chains);
        let kept = chains.get(authority_id)?;
        (kept.kept_at.elapsed() < CHAIN_TTL && kept.chain.first().is_some_and(|first| first == der)).then(|| kept.chain.clone())
    }

    /// The counter this process last committed for `authority_id`.
    pub(crate) fn counter(&self, authority_id: &str) -> Option<Counter> {
        lock(&self.counters).get(authority_id).cloned()
    }

    /// Remembers the counter a commit left (`None`: forget it, after a failure).
    pub(crate) fn keep_counter(&self, authority_id: &str, counter: Option<Counter>) {
        let mut counters = lock(&self.counters);
        match counter {
            Some(Counter::Absent) | None => counters.remove(authority_id),
            Some(known) => counters.insert(authority_id.to_owned(), known),
        };
    }

    pub(crate) fn keep_chain(&self, authority_id: &str, chain: &[Vec<u8>]) {
        lock(&self.chains).insert(authority_id.to_owned(), Chain { kept_at: Instant::now(), chain: chain.to_vec() });
    }
}
