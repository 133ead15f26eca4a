//! Event ids, and the in-process tail of the event log that `trustplane serve` uses.
//!
//! When writers and streams share one process (`serve`, after [`enable`]), a stream needs
//! neither polling nor a settle delay: every id drawn stays pending until its writer's
//! transaction returns ([`commit`] announces it and wakes the streams), and a stream reads up
//! to [`horizon`], the lowest pending id or else the first id not yet drawn. Ids are drawn
//! in increasing order, so nothing committed later can sort behind what a stream has read.
//! An id whose writer never reports back stops holding streams once it is `max_pending` old.
//!
//! Without [`enable`] (the Lambda functions, where writers are other processes) streams tail
//! the log by polling `settle` behind the clock ([`super::events::read_after`]).

use crate::error::Result;
use crate::ports::{Store, Write};
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Largest `rand_a` sequence number (12 bits).
const MAX_SEQ: u16 = 0x0fff;

#[derive(Default)]
struct Ids {
    last_ms: u64,
    last_seq: u16,
    live: bool,
    floor_ms: u64,
    pending: BTreeMap<String, Instant>,
}

fn ids() -> &'static Mutex<Ids> {
    static IDS: OnceLock<Mutex<Ids>> = OnceLock::new();
    IDS.get_or_init(Mutex::default)
}

fn lock() -> std::sync::MutexGuard<'static, Ids> {
    ids().lock().unwrap_or_else(|p| p.into_inner())
}

fn wake() -> &'static watch::Sender<u64> {
    static WAKE: OnceLock<watch::Sender<u64>> = OnceLock::new();
    WAKE.get_or_init(|| watch::channel(0).0)
}

/// Turns on the in-process tail for this process (`serve` calls it once at start).
pub fn enable() {
    lock().live = true;
}

/// Whether [`enable`] was called in this process.
pub fn enabled() -> bool {
    lock().live
}

/// A new event id for millisecond `ms`: a UUIDv7 in lower-case hex without hyphens whose 12
/// `rand_a` bits count up within a millisecond, so ids sort in the order drawn. In live mode
/// ids never go backwards (a clock step back reuses the last millisecond) and stay pending.
pub(crate) fn draw(ms: u64) -> String {
    let mut ids = lock();
    let ms = if ids.live { ms.max(ids.floor_ms).max(ids.last_ms) } else { ms };
    let (ms, seq) = match (ms == ids.last_ms, ids.last_seq < MAX_SEQ) {
        (true, true) => (ms, ids.last_seq + 1),
        (true, false) if ids.live => (ms + 1, 0),
        _ => (ms, 0),
    };
    if ms >= ids.last_ms {
        (ids.last_ms, ids.last_seq) = (ms, seq);
    }
    let mut random: [u8; 10] = rand::random();
    random[0] = (seq >> 8) as u8;
    random[1] = (seq & 0xff) as u8;
    let id = uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid().simple().to_string();
    if ids.live {
        ids.pending.insert(id.clone(), Instant::now());
    }
    id
}

/// The inclusive upper bound of a live read at `now_ms`, and whether a pending id holds it:
/// the lowest id still pending (younger than `max_pending`), or else a prefix below every id
/// drawn from now on and above every id drawn before.
pub fn horizon(now_ms: u64, max_pending: Duration) -> (String, bool) {
    let mut ids = lock();
    let since = Instant::now().checked_sub(max_pending);
    ids.pending.retain(|_, drawn| since.is_none_or(|s| *drawn >= s));
    if let Some(lowest) = ids.pending.keys().next() {
        return (lowest.clone(), true);
    }
    ids.floor_ms = ids.floor_ms.max(now_ms);
    let bound = match (ids.floor_ms > ids.last_ms, ids.last_seq < MAX_SEQ) {
        (true, _) => format!("{:012x}", ids.floor_ms),
        (false, true) => format!("{:012x}7{:03x}", ids.last_ms, ids.last_seq + 1),
        (false, false) => format!("{:012x}", ids.last_ms + 1),
    };
    (bound, false)
}

/// A receiver that changes whenever a writer's transaction with events returns.
pub fn subscribe() -> watch::Receiver<u64> {
    wake().subscribe()
}

/// [`Store::transact`] for writes that append events: whatever the outcome, their ids stop
/// being pending and the live streams wake.
pub async fn commit(store: &dyn Store, writes: Vec<Write>) -> Result<()> {
    let appended: Vec<String> = writes.iter().filter_map(super::events::appended_id).collect();
    let outcome = store.transact(writes).await;
    if !appended.is_empty() && enabled() {
        let mut ids = lock();
        for id in &appended {
            ids.pending.remove(id);
        }
        drop(ids);
        wake().send_modify(|n| *n = n.wrapping_add(1));
    }
    outcome
}
