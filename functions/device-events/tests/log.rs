//! The event log's contract (`events::read_after`) on SQLite and DynamoDB (moto): per-session
//! and global reads in id order, exclusive cursors, the page limit, and the settle cutoff.

mod support;

use serde_json::json;
use support::*;
use trustplane_core::on_both_backends;
use trustplane_core::services::devices::events::{read_after, DeviceEvent, EventKind};

on_both_backends!(
    reads_return_a_sessions_events_or_every_event_in_id_order_after_an_exclusive_cursor,
    the_settle_window_holds_back_events_younger_than_it_and_the_limit_caps_a_page,
);

fn at(ms: i64) -> time::OffsetDateTime {
    time::macros::datetime!(2030-01-01 00:00:00 UTC) + time::Duration::milliseconds(ms)
}

async fn put(b: &Backend, session: Option<&str>, ms: i64) -> DeviceEvent {
    let e = DeviceEvent::new(EventKind::DeviceDiscovered, session, json!({ "ms": ms }), at(ms));
    b.state.ports.store.transact(vec![e.write().unwrap()]).await.unwrap();
    e
}

fn ids(events: &[DeviceEvent]) -> Vec<&str> {
    events.iter().map(|e| e.id.as_str()).collect()
}

async fn reads_return_a_sessions_events_or_every_event_in_id_order_after_an_exclusive_cursor(b: Backend) {
    let store = b.state.ports.store.clone();
    let a1 = put(&b, Some("a"), 30).await;
    let n1 = put(&b, None, 10).await;
    let b1 = put(&b, Some("b"), 20).await;
    let a2 = put(&b, Some("a"), 40).await;
    let later = at(10_000);
    let zero = time::Duration::ZERO;
    let all = read_after(store.as_ref(), None, None, later, zero, 100).await.unwrap();
    assert_eq!(ids(&all), [&n1.id, &b1.id, &a1.id, &a2.id].map(String::as_str));
    assert_eq!(all[2], a1, "an event reads back as written");
    let only_a = read_after(store.as_ref(), Some("a"), None, later, zero, 100).await.unwrap();
    assert_eq!(ids(&only_a), [a1.id.as_str(), a2.id.as_str()]);
    let after = read_after(store.as_ref(), None, Some(&b1.id), later, zero, 100).await.unwrap();
    assert_eq!(ids(&after), [a1.id.as_str(), a2.id.as_str()]);
    let after_a1 = read_after(store.as_ref(), Some("a"), Some(&a1.id), later, zero, 100).await.unwrap();
    assert_eq!(ids(&after_a1), [a2.id.as_str()]);
    assert!(read_after(store.as_ref(), None, Some(&a2.id), later, zero, 100).await.unwrap().is_empty());
}

async fn the_settle_window_holds_back_events_younger_than_it_and_the_limit_caps_a_page(b: Backend) {
    let store = b.state.ports.store.clone();
    let mut written = Vec::new();
    for ms in [0, 100, 200, 300, 900] {
        written.push(put(&b, Some("s"), ms).await);
    }
    let settled = read_after(store.as_ref(), Some("s"), None, at(1000), time::Duration::milliseconds(500), 100).await.unwrap();
    assert_eq!(settled.len(), 4, "the event 100 ms old waits for the next read");
    let page = read_after(store.as_ref(), None, None, at(1000), time::Duration::ZERO, 2).await.unwrap();
    assert_eq!(ids(&page), ids(&written[..2]));
    let next = read_after(store.as_ref(), None, Some(&page[1].id), at(1000), time::Duration::ZERO, 2).await.unwrap();
    assert_eq!(ids(&next), ids(&written[2..4]));
}
