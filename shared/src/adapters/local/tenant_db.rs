//! [`TenantDatabases`] as one SQLite file per tenant: `<dir>/<db name>.db`.

use crate::adapters::tenant_data::{seed_data, SQLITE_MIGRATIONS};
use crate::domain::{DbName, Plan};
use crate::error::{Error, Result};
use crate::ports::{TenantDatabases, TenantDbInfo, TenantTags};
use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

/// The embedded tenant databases, in a private directory (mode 0700).
pub struct SqliteTenantDatabases {
    dir: PathBuf,
}

impl SqliteTenantDatabases {
    /// Keeps tenant databases in `dir`, creating it if needed.
    pub fn new(dir: PathBuf) -> Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::internal(format!("cannot create tenant directory {}: {e}", dir.display())))?;
        Ok(SqliteTenantDatabases { dir })
    }

    /// The file of `db`.
    pub fn path(&self, db: &DbName) -> PathBuf {
        self.dir.join(format!("{}.db", db.as_str()))
    }

    async fn with_db<T, F>(&self, db: &DbName, create: bool, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let path = self.path(db);
        let name = db.as_str().to_owned();
        tokio::task::spawn_blocking(move || {
            let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            if create {
                flags |= OpenFlags::SQLITE_OPEN_CREATE;
            } else if !path.exists() {
                return Err(Error::NotFound(format!("tenant database {name}")));
            }
            let mut conn = Connection::open_with_flags(&path, flags).map_err(db_err)?;
            conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db_err)?;
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)).map_err(db_err)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::internal(format!("tenant database task failed: {e}")))?
    }
}

fn db_err(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => Error::Unavailable(format!("tenant sqlite busy: {e}")),
        _ => Error::Internal(format!("tenant sqlite: {e}")),
    }
}

const MIGRATIONS_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)";

fn schema_version(conn: &Connection) -> Result<u32> {
    conn.execute(MIGRATIONS_TABLE, []).map_err(db_err)?;
    conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0)).map_err(db_err)
}

fn apply_migrations(conn: &mut Connection) -> Result<u32> {
    let start = schema_version(conn)?;
    let mut version = start;
    for (number, sql) in SQLITE_MIGRATIONS.iter().filter(|(n, _)| *n > start) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db_err)?;
        let current: u32 =
            tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0)).map_err(db_err)?;
        if current < *number {
            tx.execute_batch(sql).map_err(db_err)?;
            tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, unixepoch())", params![number])
                .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        version = *number;
    }
    Ok(version)
}

fn write_seed(conn: &mut Connection, plan: Plan) -> Result<()> {
    let seed = seed_data(plan)?;
    let tx = conn.transaction().map_err(db_err)?;
    for p in &seed.products {
        tx.execute(
            "INSERT INTO products (sku, name, category, price_cents, stock, search_name) VALUES (?1, ?2, ?3, ?4, ?5, lower(?2))
             ON CONFLICT (sku) DO UPDATE SET name = excluded.name, category = excluded.category,
               price_cents = excluded.price_cents, stock = excluded.stock, search_name = excluded.search_name",
            params![p.sku, p.name, p.category, p.price_cents, p.stock],
        )
        .map_err(db_err)?;
    }
    for (key, value) in &seed.settings {
        tx.execute("INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", params![key, value])
            .map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}

fn count(conn: &Connection, table: &str) -> Result<u64> {
    let exists: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)", params![table], |r| r.get(0))
        .map_err(db_err)?;
    if !exists {
        return Ok(0);
    }
    let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).map_err(db_err)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[async_trait]
impl TenantDatabases for SqliteTenantDatabases {
    async fn create(&self, db: &DbName, _tags: &TenantTags) -> Result<()> {
        self.with_db(db, true, |conn| conn.execute(MIGRATIONS_TABLE, []).map(drop).map_err(db_err)).await
    }

    async fn migrate(&self, db: &DbName) -> Result<u32> {
        self.with_db(db, false, apply_migrations).await
    }

    async fn seed(&self, db: &DbName, plan: Plan) -> Result<()> {
        self.with_db(db, false, move |conn| write_seed(conn, plan)).await
    }

    async fn drop_database(&self, db: &DbName) -> Result<()> {
        let path = self.path(db);
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::internal(format!("removing {}: {e}", file.display()))),
            }
        }
        Ok(())
    }

    async fn inspect(&self, db: &DbName) -> Result<Option<TenantDbInfo>> {
        if !self.path(db).exists() {
            return Ok(None);
        }
        let info = self
            .with_db(db, false, |conn| {
                Ok(TenantDbInfo { schema_version: schema_version(conn)?, products: count(conn, "products")?, settings: count(conn, "settings")? })
            })
            .await;
        match info {
            Err(Error::NotFound(_)) => Ok(None),
            other => other.map(Some),
        }
    }
}
