//! [`FaultyStore`]: a [`Store`] double that shows services the DynamoDB behaviour moto and
//! SQLite never show (both are read-after-write consistent, never throttle, never cancel a
//! transaction for a conflict and never cut a page short).
//!
//! It wraps any store and, when told to, injects:
//! - throttling: the next calls fail `Unavailable` without reaching the store;
//! - transaction conflicts: the next transactions fail `Unavailable` (what the DynamoDB
//!   adapter answers once its own retries of a cancelled transaction are spent), unapplied;
//! - lost successes: the next writes are applied but answer `Unavailable`, as when the
//!   response is lost on the way back;
//! - short pages: pages of at most a few items with a cursor, as at DynamoDB's 1 MB boundary;
//! - empty pages: before every real page, an empty page whose cursor resumes at the same
//!   place, as when every item a `Query` evaluated had expired;
//! - GSI lag: GSI1 queries keep showing items as they were before the lag began (an item
//!   first written during the lag is missing), until the index catches up.
//!
//! Under GSI lag, an item deleted during the lag, or moved to another GSI1 partition, is not
//! shown in its old place; its old image is shown only where the current item would be.

use crate::error::{Error, Result};
use crate::ports::{Condition, Index, Item, Page, Query, Store, Write};
use crate::wiring::Ports;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Prefixes the cursor of an injected empty page: the real page follows from it.
const RESUME: &str = "~resume~";

/// How many times each fault has fired so far (a test asserts its fault really happened).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fired {
    /// Calls refused as throttled.
    pub throttled: u32,
    /// Transactions cancelled for a conflict.
    pub conflicts: u32,
    /// Writes applied whose success was reported as `Unavailable`.
    pub lost_successes: u32,
    /// Queries answered with fewer items than asked for.
    pub short_pages: u32,
    /// Empty pages handed out with a cursor.
    pub empty_pages: u32,
    /// GSI1 items shown as they were before the lag, or hidden as not yet indexed.
    pub stale_index_items: u32,
}

/// The faults still to inject, and the record of those injected.
#[derive(Default)]
struct Plan {
    throttle: u32,
    conflict: u32,
    lose: u32,
    page_items: Option<u32>,
    empty_pages: bool,
    /// Under GSI lag: each item written since the lag began, as it was before (`None`: absent).
    lag: Option<HashMap<(String, String), Option<Item>>>,
    fired: Fired,
}

/// A [`Store`] wrapper that injects DynamoDB's faults on demand (module docs).
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    plan: Mutex<Plan>,
}

impl FaultyStore {
    /// Wraps `inner`, injecting nothing until told to.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        FaultyStore { inner, plan: Mutex::new(Plan::default()) }
    }

    /// `ports` with their store wrapped, and the wrapper to steer.
    pub fn install(ports: &Ports) -> (Ports, Arc<FaultyStore>) {
        let faulty = Arc::new(FaultyStore::new(ports.store.clone()));
        (Ports { store: faulty.clone(), ..ports.clone() }, faulty)
    }

    fn plan(&self) -> MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next `calls` calls of any kind are refused as throttled.
    pub fn throttle(&self, calls: u32) {
        self.plan().throttle = calls;
    }

    /// The next `transactions` transactions are cancelled for a transaction conflict.
    pub fn conflict_transactions(&self, transactions: u32) {
        self.plan().conflict = transactions;
    }

    /// The next `writes` writes (put, delete, transaction) are applied, but report
    /// `Unavailable`.
    pub fn lose_successes(&self, writes: u32) {
        self.plan().lose = writes;
    }

    /// Every page holds at most `items` items (at least one), with a cursor if more remain.
    pub fn short_pages(&self, items: u32) {
        self.plan().page_items = Some(items.max(1));
    }

    /// Every page is preceded by an empty page with a cursor.
    pub fn empty_pages(&self) {
        self.plan().empty_pages = true;
    }

    /// GSI1 stops seeing writes from now on, until [`FaultyStore::catch_up_gsi`].
    pub fn lag_gsi(&self) {
        self.plan().lag.get_or_insert_with(HashMap::new);
    }

    /// GSI1 shows every write again.
    pub fn catch_up_gsi(&self) {
        self.plan().lag = None;
    }

    /// The faults injected so far.
    pub fn fired(&self) -> Fired {
        self.plan().fired
    }

    fn check_throttle(&self) -> Result<()> {
        let mut plan = self.plan();
        if plan.throttle == 0 {
            return Ok(());
        }
        plan.throttle -= 1;
        plan.fired.throttled += 1;
        Err(Error::Unavailable("injected: ThrottlingException".into()))
    }

    fn check_conflict(&self) -> Result<()> {
        let mut plan = self.plan();
        if plan.conflict == 0 {
            return Ok(());
        }
        plan.conflict -= 1;
        plan.fired.conflicts += 1;
        Err(Error::Unavailable("injected: TransactWriteItems cancelled: TransactionConflict".into()))
    }

    /// The answer to a write the store applied: lost, if a lost success is due.
    fn answer(&self, applied: Result<()>) -> Result<()> {
        let mut plan = self.plan();
        if applied.is_err() || plan.lose == 0 {
            return applied;
        }
        plan.lose -= 1;
        plan.fired.lost_successes += 1;
        Err(Error::Unavailable("injected: the write's response was lost".into()))
    }

    /// Under GSI lag, remembers how the items about to be written were before the lag.
    async fn remember(&self, keys: Vec<(String, String)>) -> Result<()> {
        for key in keys {
            let known = self.plan().lag.as_ref().is_none_or(|lag| lag.contains_key(&key));
            if !known {
                let before = self.inner.get(&key.0, &key.1).await?;
                if let Some(lag) = self.plan().lag.as_mut() {
                    lag.entry(key).or_insert(before);
                }
            }
        }
        Ok(())
    }

    /// A GSI1 page as the lagging index shows it.
    fn as_indexed(&self, items: Vec<Item>, index_pk: &str) -> Vec<Item> {
        let mut plan = self.plan();
        let Some(lag) = plan.lag.as_ref() else { return items };
        let mut stale = 0;
        let shown = items
            .into_iter()
            .filter_map(|item| match lag.get(&(item.pk.clone(), item.sk.clone())) {
                None => Some(item),
                Some(before) => {
                    stale += 1;
                    before.clone().filter(|old| old.gsi1.as_ref().is_some_and(|k| k.pk == index_pk))
                }
            })
            .collect();
        plan.fired.stale_index_items += stale;
        shown
    }

    /// The query to run, or the injected empty page to answer instead.
    fn plan_query(&self, mut query: Query) -> std::result::Result<Query, Page> {
        let mut plan = self.plan();
        let resumed = match query.cursor.as_deref().and_then(|c| c.strip_prefix(RESUME)) {
            Some(inner) => {
                query.cursor = (!inner.is_empty()).then(|| inner.to_owned());
                true
            }
            None => false,
        };
        if plan.empty_pages && !resumed {
            plan.fired.empty_pages += 1;
            return Err(Page { items: Vec::new(), cursor: Some(format!("{RESUME}{}", query.cursor.unwrap_or_default())) });
        }
        if let Some(items) = plan.page_items.filter(|items| *items < query.limit) {
            plan.fired.short_pages += 1;
            query.limit = items;
        }
        Ok(query)
    }
}

fn write_key(write: &Write) -> Option<(String, String)> {
    match write {
        Write::Put { item, .. } => Some((item.pk.clone(), item.sk.clone())),
        Write::Delete { pk, sk, .. } => Some((pk.clone(), sk.clone())),
        Write::Check { .. } => None,
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        self.check_throttle()?;
        self.inner.get(pk, sk).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<()> {
        self.check_throttle()?;
        self.remember(vec![(item.pk.clone(), item.sk.clone())]).await?;
        let applied = self.inner.put(item, condition).await;
        self.answer(applied)
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<()> {
        self.check_throttle()?;
        self.remember(vec![(pk.to_owned(), sk.to_owned())]).await?;
        let applied = self.inner.delete(pk, sk, condition).await;
        self.answer(applied)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<()> {
        self.check_throttle()?;
        self.check_conflict()?;
        self.remember(writes.iter().filter_map(write_key).collect()).await?;
        let applied = self.inner.transact(writes).await;
        self.answer(applied)
    }

    async fn query(&self, query: Query) -> Result<Page> {
        self.check_throttle()?;
        let query = match self.plan_query(query) {
            Ok(query) => query,
            Err(empty) => return Ok(empty),
        };
        let index_pk = (query.index == Index::Gsi1).then(|| query.pk.clone());
        let mut page = self.inner.query(query).await?;
        if let Some(index_pk) = index_pk {
            page.items = self.as_indexed(page.items, &index_pk);
        }
        Ok(page)
    }
}
