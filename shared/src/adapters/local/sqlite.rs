//! [`Store`] on one SQLite file: the DynamoDB single-table design as one `items` table with a
//! GSI1 index, the same conditions, transactions, expiry and paging as the DynamoDB adapter.

mod group;
mod query;

use crate::error::{Error, Result};
use crate::ports::{Condition, IndexKey, Item, Page, Query, Store, Write};
use async_trait::async_trait;
use query::{decode_cursor, query_page};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL, sk TEXT NOT NULL, gsi1pk TEXT, gsi1sk TEXT, ttl INTEGER,
    ver INTEGER NOT NULL, state TEXT, data TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk);
CREATE INDEX IF NOT EXISTS items_ttl ON items (ttl) WHERE ttl IS NOT NULL;
";

const COLUMNS: &str = "pk, sk, gsi1pk, gsi1sk, ttl, ver, state, data";
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const PURGE_INTERVAL_SECS: i64 = 60;
const MAX_TRANSACT_WRITES: usize = 100;
/// Distinct SQL texts kept prepared (the queries vary with their ranges and cursors).
const STATEMENT_CACHE: usize = 64;

/// The embedded [`Store`]: one SQLite database in WAL mode with `synchronous=FULL` (a write
/// that returned survives a power loss, not only a crash), one connection behind a mutex,
/// every call on the blocking thread pool. Expired items are hidden at once and purged
/// opportunistically (at most once a minute, after a write).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    last_purge: AtomicI64,
    group: group::Group,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and its schema.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)).map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db_err)?;
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let inner = Inner { conn: Mutex::new(conn), last_purge: AtomicI64::new(i64::MIN), group: group::Group::default() };
        Ok(SqliteStore { inner: Arc::new(inner) })
    }

    /// Deletes every expired row now; returns how many went.
    pub async fn purge_expired(&self) -> Result<usize> {
        self.with_conn(|conn| purge(conn, now())).await
    }

    async fn with_conn<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::internal(format!("sqlite task failed: {e}")))?
    }

    /// Runs `f` atomically: its statements take effect only if it succeeds, committed with
    /// the writes queued beside it ([`group`]: one transaction and one fsync for all; cached
    /// `BEGIN`/`SAVEPOINT`/`COMMIT` statements, never parsed again). Returns once committed.
    async fn write<F>(&self, f: F) -> Result<()>
    where
        F: FnOnce(&Connection, i64) -> Result<()> + Send + 'static,
    {
        let outcome = self.inner.group.push(Box::new(f));
        let inner = self.inner.clone();
        self.with_conn(move |conn| {
            if inner.group.commit_queued(conn) {
                inner.maybe_purge(conn, now());
            }
            Ok(())
        })
        .await?;
        outcome.await.map_err(|_| Error::internal("a queued sqlite write was dropped"))?
    }

    /// How many transactions have committed writes (several writes share one when they queue
    /// up behind a busy connection).
    pub fn commits(&self) -> u64 {
        self.inner.group.commits()
    }
}

impl Inner {
    fn maybe_purge(&self, conn: &Connection, now: i64) {
        let last = self.last_purge.load(Ordering::Relaxed);
        if now.saturating_sub(last) < PURGE_INTERVAL_SECS {
            return;
        }
        self.last_purge.store(now, Ordering::Relaxed);
        if let Err(e) = purge(conn, now) {
            tracing::warn!(error = %e, "purging expired items failed");
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        self.with_conn(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM items WHERE pk = ?1 AND sk = ?2 AND (ttl IS NULL OR ttl > ?3)");
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
            stmt.query_row(params![pk, sk, now()], row_item).optional().map_err(db_err)
        })
        .await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<()> {
        validate_item(&item)?;
        self.write(move |tx, now| {
            check(tx, &item.pk, &item.sk, &condition, now)?;
            upsert(tx, &item)
        })
        .await
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<()> {
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        self.write(move |tx, now| {
            check(tx, &pk, &sk, &condition, now)?;
            remove(tx, &pk, &sk)
        })
        .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<()> {
        validate_transaction(&writes)?;
        self.write(move |tx, now| {
            for w in &writes {
                let (pk, sk, condition) = write_target(w);
                check(tx, pk, sk, condition, now)?;
            }
            writes.iter().try_for_each(|w| apply(tx, w))
        })
        .await
    }

    async fn query(&self, query: Query) -> Result<Page> {
        if !(1..=1000).contains(&query.limit) {
            return Err(Error::validation("query limit must be between 1 and 1000"));
        }
        let cursor = query.cursor.as_deref().map(|c| decode_cursor(c, query.index)).transpose()?;
        self.with_conn(move |conn| query_page(conn, &query, cursor, now())).await
    }
}

fn now() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}

fn purge(conn: &Connection, now: i64) -> Result<usize> {
    conn.execute("DELETE FROM items WHERE ttl IS NOT NULL AND ttl <= ?1", params![now]).map_err(db_err)
}

/// Maps driver faults: a busy or locked database is retryable, anything else is a bug.
fn db_err(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => Error::Unavailable(format!("sqlite busy: {e}")),
        _ => Error::Internal(format!("sqlite: {e}")),
    }
}

fn validate_item(item: &Item) -> Result<()> {
    let empty_index = item.gsi1.as_ref().is_some_and(|k| k.pk.is_empty() || k.sk.is_empty());
    if item.pk.is_empty() || item.sk.is_empty() || empty_index {
        return Err(Error::validation("item keys must not be empty"));
    }
    Ok(())
}

fn validate_transaction(writes: &[Write]) -> Result<()> {
    if writes.len() > MAX_TRANSACT_WRITES {
        return Err(Error::validation("a transaction holds at most 100 writes"));
    }
    let mut seen = HashSet::new();
    for w in writes {
        if let Write::Put { item, .. } = w {
            validate_item(item)?;
        }
        let (pk, sk, _) = write_target(w);
        if !seen.insert((pk, sk)) {
            return Err(Error::validation("a transaction touches each item at most once"));
        }
    }
    Ok(())
}

/// Runs a parameterless statement from the statement cache.
fn run(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql).and_then(|mut stmt| stmt.execute([])).map(drop).map_err(db_err)
}

fn write_target(w: &Write) -> (&str, &str, &Condition) {
    match w {
        Write::Put { item, condition } => (&item.pk, &item.sk, condition),
        Write::Delete { pk, sk, condition } | Write::Check { pk, sk, condition } => (pk, sk, condition),
    }
}

fn apply(tx: &Connection, w: &Write) -> Result<()> {
    match w {
        Write::Put { item, .. } => upsert(tx, item),
        Write::Delete { pk, sk, .. } => remove(tx, pk, sk),
        Write::Check { .. } => Ok(()),
    }
}

/// Fails with [`Error::Conflict`] unless `condition` holds on the live (unexpired) item.
fn check(conn: &Connection, pk: &str, sk: &str, condition: &Condition, now: i64) -> Result<()> {
    if *condition == Condition::Always {
        return Ok(());
    }
    let current: Option<(i64, Option<String>)> = conn
        .prepare_cached("SELECT ver, state FROM items WHERE pk = ?1 AND sk = ?2 AND (ttl IS NULL OR ttl > ?3)")
        .and_then(|mut stmt| stmt.query_row(params![pk, sk, now], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(db_err)?;
    let failure = match (condition, current) {
        (Condition::Absent, Some(_)) => "the item already exists",
        (Condition::Exists | Condition::Version(_) | Condition::State(_), None) => "the item does not exist",
        (Condition::Version(v), Some((ver, _))) if u64::try_from(ver).ok() != Some(*v) => {
            "the item's version has changed"
        }
        (Condition::State(s), Some((_, state))) if state.as_deref() != Some(s.as_str()) => {
            "the item's state has changed"
        }
        _ => return Ok(()),
    };
    Err(Error::Conflict(failure.into()))
}

fn upsert(conn: &Connection, item: &Item) -> Result<()> {
    let data = serde_json::to_string(&item.data).map_err(Error::internal)?;
    let ver = i64::try_from(item.version).map_err(|_| Error::validation("item version is too large"))?;
    let (gsi1pk, gsi1sk) = match &item.gsi1 {
        Some(k) => (Some(k.pk.as_str()), Some(k.sk.as_str())),
        None => (None, None),
    };
    conn.prepare_cached(&format!("INSERT OR REPLACE INTO items ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"))
        .and_then(|mut stmt| stmt.execute(params![item.pk, item.sk, gsi1pk, gsi1sk, item.expires_at, ver, item.state, data]))
        .map_err(db_err)?;
    Ok(())
}

fn remove(conn: &Connection, pk: &str, sk: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut stmt| stmt.execute(params![pk, sk]))
        .map_err(db_err)?;
    Ok(())
}

fn row_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
    let gsi1pk: Option<String> = r.get(2)?;
    let gsi1sk: Option<String> = r.get(3)?;
    let ver: i64 = r.get(5)?;
    let data: String = r.get(7)?;
    let bad = |col: usize, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, e)
    };
    Ok(Item {
        pk: r.get(0)?,
        sk: r.get(1)?,
        gsi1: gsi1pk.zip(gsi1sk).map(|(pk, sk)| IndexKey { pk, sk }),
        expires_at: r.get(4)?,
        version: u64::try_from(ver).map_err(|e| bad(5, Box::new(e)))?,
        state: r.get(6)?,
        data: serde_json::from_str(&data).map_err(|e| bad(7, Box::new(e)))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::SkRange;

    #[tokio::test(flavor = "multi_thread")]
    async fn begins_with_treats_sql_wildcards_literally() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        for sk in ["a%b", "a%c", "axb", "a_b"] {
            store.put(Item::new("P", sk, serde_json::json!({})), Condition::Always).await.unwrap();
        }
        let mut q = Query::partition("P");
        q.range = SkRange::BeginsWith("a%".into());
        let sks: Vec<String> = store.query(q).await.unwrap().items.into_iter().map(|i| i.sk).collect();
        assert_eq!(sks, ["a%b", "a%c"]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_forged_cursor_is_a_validation_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let mut q = Query::partition("P");
        q.cursor = Some("not-a-cursor".into());
        assert!(matches!(store.query(q).await, Err(Error::Validation(_))));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn writes_queued_behind_a_busy_connection_share_one_commit_and_a_failed_condition_fails_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        store.put(Item::new("P", "taken", serde_json::json!({})), Condition::Always).await.unwrap();
        let before = store.commits();
        let busy = store.with_conn(|_| Ok(std::thread::sleep(Duration::from_millis(300))));
        let writes = (0..10).map(|i| {
            let sk = if i == 3 { "taken".to_owned() } else { format!("new-{i}") };
            store.put(Item::new("P", sk, serde_json::json!({ "i": i })), Condition::Absent)
        });
        let (_, outcomes) = tokio::join!(busy, futures::future::join_all(writes));
        for (i, outcome) in outcomes.iter().enumerate() {
            assert_eq!(outcome.is_ok(), i != 3, "write {i}: {outcome:?}");
        }
        assert!(matches!(outcomes[3], Err(Error::Conflict(_))), "{:?}", outcomes[3]);
        assert_eq!(store.commits() - before, 1, "the ten queued writes committed together");
        let kept = store.query(Query::partition("P")).await.unwrap().items;
        assert_eq!(kept.len(), 10, "nine new items and the one that was there");
        assert_eq!(kept.iter().find(|i| i.sk == "taken").unwrap().data, serde_json::json!({}));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_commit_is_synced_to_disk_before_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let level: i64 = store.with_conn(|conn| conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).map_err(db_err)).await.unwrap();
        assert_eq!(level, 2, "PRAGMA synchronous is not FULL (2)");
    }
}
