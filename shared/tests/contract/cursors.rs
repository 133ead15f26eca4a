//! List cursors: sealed, opaque, bound to the list that returned them, and stable across
//! restarts of one deployment.

use crate::backend::{Backend, Kind};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;
use trustplane_core::ports::{Condition, Index, IndexKey, Item, Query, SkRange, Store};
use trustplane_core::wiring::Ports;
use trustplane_core::Error;

const REFUSAL: &str = "cursor is not one this list returned";

/// Item `n` of the list (GSI1 partition) `list`, also in the primary partition `list`.
fn listed(list: &str, n: u32) -> Item {
    let mut item = Item::new(list, format!("{n:03}"), json!({ "n": n }));
    item.gsi1 = Some(IndexKey { pk: list.into(), sk: format!("{n:03}") });
    item
}

async fn fill(store: &dyn Store, list: &str, count: u32) {
    for n in 0..count {
        store.put(listed(list, n), Condition::Always).await.expect("put");
    }
}

fn list(pk: &str, limit: u32) -> Query {
    Query { index: Index::Gsi1, limit, ..Query::partition(pk) }
}

/// The cursor of the first page of `query`.
async fn first_cursor(store: &dyn Store, query: &Query) -> String {
    store.query(query.clone()).await.expect("first page").cursor.expect("a second page")
}

fn decoded(cursor: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(cursor).unwrap_or_else(|_| panic!("not base64url without padding: {cursor}"))
}

fn assert_opaque(cursor: &str) {
    assert!(cursor.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "not base64url: {cursor}");
    let bytes = decoded(cursor);
    assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_err(), "cursor is JSON: {}", String::from_utf8_lossy(&bytes));
}

async fn assert_refused(store: &dyn Store, query: Query, what: &str) {
    match store.query(query).await {
        Err(Error::Validation(message)) => assert_eq!(message, REFUSAL, "{what}"),
        other => panic!("{what}: expected the cursor refused, got {other:?}"),
    }
}

/// Every item of `query`'s partition, page by page, checking each cursor is sealed.
async fn walk(store: &dyn Store, mut query: Query) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        let page = store.query(query.clone()).await.expect("page");
        seen.extend(page.items.iter().map(|i| i.data["n"].as_u64().expect("n")));
        match page.cursor {
            Some(cursor) => {
                assert_opaque(&cursor);
                query.cursor = Some(cursor);
            }
            None => return seen,
        }
    }
}

pub async fn paging_with_sealed_cursors_returns_every_item_exactly_once(b: Backend) {
    let store = b.ports.store.as_ref();
    fill(store, "LIST#a", 23).await;
    fill(store, "LIST#b", 4).await;
    assert_eq!(walk(store, list("LIST#a", 5)).await, (0..23).collect::<Vec<_>>());
    let backwards = Query { descending: true, limit: 4, ..Query::partition("LIST#a") };
    assert_eq!(walk(store, backwards).await, (0..23).rev().collect::<Vec<_>>());
}

pub async fn a_cursor_reveals_nothing_of_the_keys_behind_it(b: Backend) {
    let store = b.ports.store.as_ref();
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let ids = ["0190a1b2-0000-7000-8000-000000000001", "0190a1b2-0000-7000-8000-000000000002"];
    for (i, id) in ids.iter().enumerate() {
        let mut item = Item::new(format!("APIKEY#{hash}{i}"), "APIKEY", json!({ "id": id }));
        item.gsi1 = Some(IndexKey { pk: "APIKEYS".into(), sk: (*id).into() });
        store.put(item, Condition::Absent).await.expect("put");
    }
    let cursor = first_cursor(store, &list("APIKEYS", 1)).await;
    assert_opaque(&cursor);
    for text in [cursor.clone(), String::from_utf8_lossy(&decoded(&cursor)).into_owned()] {
        for secret in [hash, "APIKEY", ids[0]] {
            assert!(!text.contains(secret), "{secret} readable in {text}");
        }
    }
    assert_ne!(first_cursor(store, &list("APIKEYS", 1)).await, cursor, "two sealings of one position look alike");
}

pub async fn a_cursor_is_refused_by_another_partition_index_range_or_direction(b: Backend) {
    let store = b.ports.store.as_ref();
    fill(store, "LIST#a", 6).await;
    fill(store, "LIST#b", 6).await;
    let origin = list("LIST#a", 2);
    let cursor = Some(first_cursor(store, &origin).await);
    let others = [
        ("another partition", list("LIST#b", 2)),
        ("another index", Query { index: Index::Primary, ..list("LIST#a", 2) }),
        ("another range", Query { range: SkRange::BeginsWith("00".into()), ..list("LIST#a", 2) }),
        ("the other direction", Query { descending: true, ..list("LIST#a", 2) }),
    ];
    for (what, other) in others {
        assert_refused(store, Query { cursor: cursor.clone(), ..other }, what).await;
    }
    let next = store.query(Query { cursor, limit: 3, ..origin }).await.expect("its own list, any page size");
    assert_eq!(next.items.iter().map(|i| i.data["n"].clone()).collect::<Vec<_>>(), [json!(2), json!(3), json!(4)]);
}

pub async fn edited_truncated_or_forged_cursors_are_refused(b: Backend) {
    let store = b.ports.store.as_ref();
    fill(store, "LIST#a", 4).await;
    let origin = list("LIST#a", 1);
    let bytes = decoded(&first_cursor(store, &origin).await);
    let mut forged: Vec<(String, String)> = (0..bytes.len())
        .map(|i| {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            (format!("byte {i} flipped"), URL_SAFE_NO_PAD.encode(flipped))
        })
        .collect();
    for len in [bytes.len() - 1, 28, 27, 12, 0].into_iter().filter(|&len| len < bytes.len()) {
        forged.push((format!("truncated to {len} bytes"), URL_SAFE_NO_PAD.encode(&bytes[..len])));
    }
    for raw in [r#"["","",""]"#, r#"["001","LIST#a","001"]"#, r#"{"GSI1PK":"LIST#a","GSI1SK":"001","PK":"LIST#a","SK":"001"}"#] {
        forged.push((format!("forged {raw}"), URL_SAFE_NO_PAD.encode(raw)));
    }
    forged.push(("not base64url".into(), "!!".into()));
    for (what, cursor) in forged {
        assert_refused(store, Query { cursor: Some(cursor), ..origin.clone() }, &what).await;
    }
}

/// The same deployment's ports opened again, as a restarted process would.
fn reopened(b: &Backend) -> Ports {
    match &b.kind {
        Kind::Sqlite { .. } => trustplane_core::wiring::open_local(&b.config).expect("reopen embedded backend").0,
        Kind::Moto { .. } => trustplane_core::wiring::aws_ports_with(b.sdk.as_ref().expect("moto SDK config"), &b.config).expect("AWS adapters"),
    }
}

pub async fn a_cursor_survives_a_restart_but_not_another_deployment(b: Backend) {
    fill(b.ports.store.as_ref(), "LIST#a", 5).await;
    let origin = list("LIST#a", 2);
    let cursor = Some(first_cursor(b.ports.store.as_ref(), &origin).await);
    let restarted = reopened(&b);
    let next = restarted.store.query(Query { cursor: cursor.clone(), ..origin.clone() }).await.expect("restarted");
    assert_eq!(next.items.iter().map(|i| i.data["n"].clone()).collect::<Vec<_>>(), [json!(2), json!(3)]);
    let other = match b.kind {
        Kind::Sqlite { .. } => Backend::sqlite().await,
        Kind::Moto { .. } => Backend::moto().await,
    };
    fill(other.ports.store.as_ref(), "LIST#a", 5).await;
    assert_refused(other.ports.store.as_ref(), Query { cursor, ..origin }, "another deployment").await;
}
