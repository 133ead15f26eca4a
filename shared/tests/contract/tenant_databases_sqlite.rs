//! The embedded tenant databases' migrations over data that already exists: a SQLite tenant
//! database left at schema version 1 with rows in it gets migration 0002 and only that, which
//! adds `search_name`, backfills it from every existing product's name and adds the category
//! index, keeping the rows.

use rusqlite::{params, Connection};
use trustplane_core::adapters::local::SqliteTenantDatabases;
use trustplane_core::adapters::tenant_data::{seed_data, SQLITE_MIGRATIONS};
use trustplane_core::domain::{DbName, Plan};
use trustplane_core::ports::{TenantDatabases, TenantDbInfo, TenantTags};

const LEGACY: [(&str, &str, i64); 3] = [("LEG-1", "Legacy Widget", 1999), ("LEG-2", "OLD GADGET", 500), ("LEG-3", "already lower", 0)];

/// A tenant database as migration 1 left it, holding [`LEGACY`] and one setting.
async fn database_at_version_1(dbs: &SqliteTenantDatabases, db: &DbName) -> Connection {
    let tags = TenantTags { tenant_id: uuid::Uuid::new_v4().to_string(), stack: "contract".into() };
    dbs.create(db, &tags).await.expect("create");
    let conn = Connection::open(dbs.path(db)).expect("open the tenant file");
    conn.execute_batch(SQLITE_MIGRATIONS[0].1).expect("migration 0001");
    conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (1, 1700000000)", []).expect("record version 1");
    for (sku, name, price) in LEGACY {
        let row = params![sku, name, price];
        conn.execute("INSERT INTO products (sku, name, category, price_cents, stock) VALUES (?1, ?2, 'legacy', ?3, 7)", row).expect("product");
    }
    conn.execute("INSERT INTO settings (key, value) VALUES ('currency', 'EUR')", []).expect("setting");
    conn
}

fn products(conn: &Connection) -> Vec<(String, String, i64, String)> {
    let mut query = conn.prepare("SELECT sku, name, price_cents, search_name FROM products ORDER BY sku").expect("prepare");
    let rows = query.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).expect("query");
    rows.map(|r| r.expect("row")).collect()
}

fn applied_versions(conn: &Connection) -> Vec<u32> {
    let mut query = conn.prepare("SELECT version FROM schema_migrations ORDER BY version").expect("prepare");
    let rows = query.query_map([], |r| r.get(0)).expect("query");
    rows.map(|r| r.expect("row")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_migration_2_backfills_search_name_on_rows_written_at_version_1_and_runs_once() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let dbs = SqliteTenantDatabases::new(dir.path().join("tenants")).expect("tenant directory");
    let db = DbName::parse("ecom_tenant_legacy").expect("database name");
    let conn = database_at_version_1(&dbs, &db).await;
    assert_eq!(dbs.inspect(&db).await.expect("inspect"), Some(TenantDbInfo { schema_version: 1, products: 3, settings: 1 }));

    assert_eq!(dbs.migrate(&db).await.expect("migrate"), 2);
    let backfilled: Vec<_> = LEGACY.iter().map(|(sku, name, price)| (sku.to_string(), name.to_string(), *price, name.to_lowercase())).collect();
    assert_eq!(products(&conn), backfilled, "every existing product kept, with search_name = lower(name)");
    assert_eq!(applied_versions(&conn), [1, 2]);
    let index = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'products_by_category'";
    let sql: String = conn.query_row(index, [], |r| r.get(0)).expect("the category index exists");
    assert!(sql.contains("(category, sku)"), "{sql}");

    assert_eq!(dbs.migrate(&db).await.expect("migrate again"), 2);
    assert_eq!(applied_versions(&conn), [1, 2], "a rerun applies nothing");
    dbs.seed(&db, Plan::Basic).await.expect("seed over the legacy rows");
    let seeded = seed_data(Plan::Basic).expect("basic seed").products.len() as u64;
    let info = dbs.inspect(&db).await.expect("inspect").expect("the database exists");
    assert_eq!((info.schema_version, info.products), (2, 3 + seeded), "the seed adds its catalog beside the legacy rows");
    assert!(products(&conn).iter().all(|(_, name, _, search)| *search == name.to_lowercase()), "seeded rows get search_name too");
}
