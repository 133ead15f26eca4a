//! The in-process tail of the device event log (`trustplane serve`'s live mode) over a real
//! SQLite store: writers that draw their ids, then commit after a random delay, and readers
//! that read only up to the horizon, never read past an event still to be committed. This
//! binary turns live mode on for its whole process, as `serve` does.

use std::sync::Arc;
use std::time::Duration;
use trustplane_core::config::Config;
use trustplane_core::ports::Store;
use trustplane_core::services::devices::events::{self, DeviceEvent, EventKind};
use trustplane_core::services::devices::live;

async fn store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    let (ports, _queue) = trustplane_core::wiring::open(&config).await.unwrap();
    (ports.store, dir)
}

/// Live mode's state is the process's: these tests take turns.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn now_ms() -> u64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as u64
}

/// Appends `count` events, each committed a random 0–20 ms after its id was drawn.
async fn write_slowly(store: Arc<dyn Store>, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        let event = DeviceEvent::new(EventKind::DeviceDiscovered, None, serde_json::json!({ "i": i }), trustplane_core::clock::now());
        tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 20)).await;
        live::commit(store.as_ref(), vec![event.write().unwrap()]).await.unwrap();
        ids.push(event.id);
    }
    ids
}

/// Reads as a live stream does, woken by commits, until it has `total` events.
async fn tail(store: Arc<dyn Store>, total: usize) -> Vec<String> {
    let mut woken = live::subscribe();
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    while seen.len() < total {
        let (upper, _) = live::horizon(now_ms(), Duration::from_secs(5));
        for event in events::read_through(store.as_ref(), None, cursor.as_deref(), &upper, 1000).await.unwrap() {
            cursor = Some(event.id.clone());
            seen.push(event.id);
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), woken.changed()).await;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_that_commit_out_of_id_order_never_make_a_live_reader_skip_or_repeat_an_event() {
    let _alone = ALONE.lock().await;
    live::enable();
    let (store, _dir) = store().await;
    let readers: Vec<_> = (0..3).map(|_| tokio::spawn(tail(store.clone(), 4 * 40))).collect();
    let writers: Vec<_> = (0..4).map(|_| tokio::spawn(write_slowly(store.clone(), 40))).collect();
    let mut written = Vec::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    written.sort();
    for r in readers {
        let seen = tokio::time::timeout(Duration::from_secs(30), r).await.expect("the reader caught up").unwrap();
        assert_eq!(seen, written, "every event once, in id order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drawn_id_holds_the_horizon_until_its_commit_returns_or_it_is_abandoned() {
    let _alone = ALONE.lock().await;
    live::enable();
    let (store, _dir) = store().await;
    let abandoned = DeviceEvent::new(EventKind::SessionStatus, Some("s"), serde_json::json!({}), trustplane_core::clock::now());
    assert_eq!(live::horizon(now_ms(), Duration::from_secs(60)), (abandoned.id.clone(), true));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (_, held) = live::horizon(now_ms(), Duration::from_millis(1));
    assert!(!held, "an id never committed stops holding streams after max_pending");
    let committed = DeviceEvent::new(EventKind::SessionStatus, Some("s"), serde_json::json!({}), trustplane_core::clock::now());
    assert_eq!(live::horizon(now_ms(), Duration::from_secs(60)), (committed.id.clone(), true));
    live::commit(store.as_ref(), vec![committed.write().unwrap()]).await.unwrap();
    let (upper, held) = live::horizon(now_ms(), Duration::from_secs(60));
    assert!(!held && upper.as_str() > committed.id.as_str(), "after its commit the horizon passes it: {upper} vs {}", committed.id);
    let next = DeviceEvent::new(EventKind::SessionStatus, Some("s"), serde_json::json!({}), trustplane_core::clock::now());
    assert!(next.id.as_str() > upper.as_str(), "an id drawn after a read sorts above that read's horizon: {} vs {upper}", next.id);
}
