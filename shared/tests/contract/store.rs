//! `Store`: conditions, transactions, paging, sort-key ranges and expiry.

use crate::backend::Backend;
use serde_json::json;
use std::collections::HashSet;
use trustplane_core::ports::{Condition, Index, IndexKey, Item, Query, SkRange, Store, Write};
use trustplane_core::Error;

fn item(pk: &str, sk: &str, n: u64) -> Item {
    Item::new(pk, sk, json!({ "n": n }))
}

fn assert_conflict(result: trustplane_core::Result<()>, what: &str) {
    match result {
        Err(Error::Conflict(_)) => {}
        other => panic!("{what}: expected Conflict, got {other:?}"),
    }
}

async fn data_of(store: &dyn Store, pk: &str, sk: &str) -> Option<serde_json::Value> {
    store.get(pk, sk).await.expect("get").map(|i| i.data)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

pub async fn conditional_put_conflicts_when_item_exists(b: Backend) {
    let store = b.ports.store.as_ref();
    store.put(item("USER#1", "PROFILE", 1), Condition::Absent).await.expect("first put");
    let err = store.put(item("USER#1", "PROFILE", 2), Condition::Absent).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "got {err:?}");
    assert_eq!(data_of(store, "USER#1", "PROFILE").await, Some(json!({ "n": 1 })));
    store.put(item("USER#1", "OTHER", 3), Condition::Absent).await.expect("another sort key is another item");
}

pub async fn update_with_a_stale_version_conflicts_and_the_current_version_succeeds(b: Backend) {
    let store = b.ports.store.as_ref();
    store.put(item("K", "V", 1), Condition::Absent).await.unwrap();
    let mut v2 = item("K", "V", 2);
    v2.version = 2;
    store.put(v2.clone(), Condition::Version(1)).await.expect("update at the current version");
    let mut stale = item("K", "V", 99);
    stale.version = 2;
    assert_conflict(store.put(stale, Condition::Version(1)).await, "stale update");
    let current = store.get("K", "V").await.unwrap().expect("item");
    assert_eq!((current.version, current.data), (2, json!({ "n": 2 })));
    assert_conflict(store.delete("K", "V", Condition::Version(1)).await, "stale delete");
    store.delete("K", "V", Condition::Version(2)).await.expect("delete at the current version");
    assert_eq!(store.get("K", "V").await.unwrap(), None);
    assert_conflict(store.put(v2, Condition::Version(2)).await, "update of a deleted item");
}

pub async fn writes_conditioned_on_state_or_existence_hold_only_when_it_matches(b: Backend) {
    let store = b.ports.store.as_ref();
    assert_conflict(store.put(item("S", "1", 0), Condition::Exists).await, "Exists on a missing item");
    assert_conflict(store.delete("S", "1", Condition::Exists).await, "delete Exists of a missing item");
    store.delete("S", "1", Condition::Always).await.expect("unconditional delete of a missing item");
    let mut pending = item("S", "1", 1);
    pending.state = Some("pending".into());
    store.put(pending.clone(), Condition::Absent).await.unwrap();
    let mut active = pending.clone();
    active.state = Some("active".into());
    active.version = 2;
    assert_conflict(store.put(active.clone(), Condition::State("active".into())).await, "wrong state");
    store.put(active, Condition::State("pending".into())).await.expect("matching state");
    let stored = store.get("S", "1").await.unwrap().expect("item");
    assert_eq!(stored.state.as_deref(), Some("active"));
    assert_conflict(store.delete("S", "1", Condition::State("pending".into())).await, "delete in wrong state");
    store.put(item("S", "1", 3), Condition::Exists).await.expect("Exists on a present item");
    assert_conflict(store.put(item("S", "1", 4), Condition::State("active".into())).await, "no state at all");
}

pub async fn transaction_whose_last_condition_fails_leaves_no_write_behind(b: Backend) {
    let store = b.ports.store.as_ref();
    store.put(item("T", "existing", 1), Condition::Absent).await.unwrap();
    store.put(item("T", "other", 1), Condition::Absent).await.unwrap();
    let writes = vec![
        Write::Put { item: item("T", "new-a", 1), condition: Condition::Absent },
        Write::Put { item: item("T", "new-b", 1), condition: Condition::Always },
        Write::Delete { pk: "T".into(), sk: "existing".into(), condition: Condition::Version(1) },
        Write::Put { item: item("T", "other", 2), condition: Condition::Version(1) },
        Write::Check { pk: "T".into(), sk: "missing".into(), condition: Condition::Exists },
    ];
    assert_conflict(store.transact(writes).await, "transaction with a failing check");
    assert_eq!(data_of(store, "T", "new-a").await, None);
    assert_eq!(data_of(store, "T", "new-b").await, None);
    assert_eq!(data_of(store, "T", "existing").await, Some(json!({ "n": 1 })));
    assert_eq!(data_of(store, "T", "other").await, Some(json!({ "n": 1 })));
}

pub async fn transaction_applies_every_write_when_all_conditions_hold(b: Backend) {
    let store = b.ports.store.as_ref();
    store.put(item("T", "existing", 1), Condition::Absent).await.unwrap();
    store.put(item("T", "guard", 1), Condition::Absent).await.unwrap();
    let writes = vec![
        Write::Put { item: item("T", "new", 1), condition: Condition::Absent },
        Write::Delete { pk: "T".into(), sk: "existing".into(), condition: Condition::Version(1) },
        Write::Check { pk: "T".into(), sk: "guard".into(), condition: Condition::Exists },
    ];
    store.transact(writes).await.expect("transaction");
    assert_eq!(data_of(store, "T", "new").await, Some(json!({ "n": 1 })));
    assert_eq!(data_of(store, "T", "existing").await, None);
    assert_eq!(data_of(store, "T", "guard").await, Some(json!({ "n": 1 })));
}

/// Every page of `query`, followed by cursor; returns the page sizes and all items.
async fn walk(store: &dyn Store, mut query: Query) -> (Vec<usize>, Vec<Item>) {
    let (mut sizes, mut items) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        let page = store.query(query.clone()).await.expect("query");
        sizes.push(page.items.len());
        items.extend(page.items);
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return (sizes, items),
        }
    }
    panic!("query never reached its last page");
}

fn sort_keys(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.sk.clone()).collect()
}

pub async fn pages_of_ten_walk_twenty_five_items_in_order_both_ways(b: Backend) {
    let store = b.ports.store.as_ref();
    let expected: Vec<String> = (0..25).map(|n| format!("ITEM#{n:03}")).collect();
    for (n, sk) in expected.iter().enumerate().rev() {
        store.put(item("PAGED", sk, n as u64), Condition::Absent).await.unwrap();
    }
    store.put(item("PAGED-NOT", "ITEM#000", 0), Condition::Absent).await.unwrap();
    let mut query = Query::partition("PAGED");
    query.limit = 10;
    let (sizes, items) = walk(store, query.clone()).await;
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(sort_keys(&items), expected);
    query.descending = true;
    let (sizes, items) = walk(store, query).await;
    assert_eq!(sizes, [10, 10, 5]);
    let reversed: Vec<String> = expected.iter().rev().cloned().collect();
    assert_eq!(sort_keys(&items), reversed);
}

pub async fn gsi1_pages_are_ordered_and_stable_across_equal_index_sort_keys(b: Backend) {
    let store = b.ports.store.as_ref();
    for n in 0..25u64 {
        let mut it = item(&format!("CERT#{n:02}"), "META", n);
        it.gsi1 = Some(IndexKey { pk: "AUTH#1".into(), sk: format!("STATUS#{}", n % 5) });
        store.put(it, Condition::Absent).await.unwrap();
    }
    store.put(item("CERT#unindexed", "META", 99), Condition::Absent).await.unwrap();
    for descending in [false, true] {
        let query = Query { index: Index::Gsi1, limit: 10, descending, ..Query::partition("AUTH#1") };
        let (sizes, items) = walk(store, query).await;
        assert_eq!(sizes, [10, 10, 5], "descending: {descending}");
        let pks: HashSet<&str> = items.iter().map(|i| i.pk.as_str()).collect();
        assert_eq!(pks.len(), 25, "duplicates or gaps across pages");
        let index_sks: Vec<&str> = items.iter().map(|i| i.gsi1.as_ref().expect("GSI1 key").sk.as_str()).collect();
        let mut sorted = index_sks.clone();
        sorted.sort_unstable();
        if descending {
            sorted.reverse();
        }
        assert_eq!(index_sks, sorted, "descending: {descending}");
    }
}

pub async fn sort_key_ranges_select_prefixes_exact_keys_and_inclusive_spans(b: Backend) {
    let store = b.ports.store.as_ref();
    for sk in ["A#1", "A#2", "B", "B#1", "B#2", "B#3", "BB#1", "C#1"] {
        store.put(item("R", sk, 0), Condition::Absent).await.unwrap();
    }
    let ranged = |range: SkRange, descending: bool| Query { range, descending, ..Query::partition("R") };
    let run = |q: Query| async move { sort_keys(&walk(store, q).await.1) };
    assert_eq!(run(ranged(SkRange::BeginsWith("B#".into()), false)).await, ["B#1", "B#2", "B#3"]);
    assert_eq!(run(ranged(SkRange::BeginsWith("B#".into()), true)).await, ["B#3", "B#2", "B#1"]);
    assert_eq!(run(ranged(SkRange::BeginsWith("B".into()), false)).await, ["B", "B#1", "B#2", "B#3", "BB#1"]);
    assert_eq!(run(ranged(SkRange::Between("A#2".into(), "B#2".into()), false)).await, ["A#2", "B", "B#1", "B#2"]);
    assert_eq!(run(ranged(SkRange::Eq("C#1".into()), false)).await, ["C#1"]);
    assert!(run(ranged(SkRange::Eq("C".into()), false)).await.is_empty());
    let mut paged = ranged(SkRange::Between("A#1".into(), "B#3".into()), true);
    paged.limit = 2;
    let (sizes, items) = walk(store, paged).await;
    assert_eq!(sizes, [2, 2, 2]);
    assert_eq!(sort_keys(&items), ["B#3", "B#2", "B#1", "B", "A#2", "A#1"]);
}

pub async fn expired_items_are_invisible_and_count_as_absent(b: Backend) {
    let store = b.ports.store.as_ref();
    let mut expired = item("SESSION", "old", 1);
    expired.expires_at = Some(now() - 60);
    store.put(expired, Condition::Always).await.expect("put an already expired item");
    let mut live = item("SESSION", "new", 2);
    live.expires_at = Some(now() + 3600);
    store.put(live, Condition::Absent).await.unwrap();
    assert_eq!(store.get("SESSION", "old").await.unwrap(), None);
    let page = store.query(Query::partition("SESSION")).await.unwrap();
    assert_eq!(sort_keys(&page.items), ["new"]);
    assert_eq!(page.items[0].expires_at.map(|t| t > now()), Some(true));
    assert_conflict(store.put(item("SESSION", "old", 3), Condition::Exists).await, "Exists on an expired item");
    store.put(item("SESSION", "old", 4), Condition::Absent).await.expect("Absent over an expired item");
    assert_eq!(data_of(store, "SESSION", "old").await, Some(json!({ "n": 4 })));
}
