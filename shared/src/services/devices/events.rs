//! The device event log (seed 002 SSE): an append-only, time-sortable log in the store,
//! written in the same transaction as the state change each event announces, and read by
//! the SSE streams (`serve` in-process, `device-events` in Lambda) to tail and to resume
//! after `Last-Event-ID`.
//!
//! Layout: `PK = DEVEVT#S#<session id>` (or `DEVEVT#NET` for events outside a session),
//! `SK = <event id>`, `GSI1 = (DEVEVT, <event id>)` for the unfiltered stream. Event ids are
//! UUIDv7 in lower-case hex without hyphens: 32 characters whose first 12 are the
//! millisecond timestamp, so byte order is time order.
//!
//! Readers in other processes than the writers (Lambda) stop `settle` before now: a writer
//! that drew its id earlier but committed later (or a DynamoDB GSI that lags) is still seen,
//! in order, by the next read. Readers sharing the writers' process (`serve`) read up to
//! [`super::live::horizon`] instead.

use crate::error::{Error, Result};
use crate::ports::{Condition, Index, IndexKey, Item, Query, SkRange, Store, Write};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// How long events stay readable (`Last-Event-ID` older than this resumes from the oldest).
pub const EVENT_TTL_SECS: i64 = 24 * 3600;
/// The envelope version the PiDashboard client expects (`SSEEventEnvelope.version`).
pub const ENVELOPE_VERSION: &str = "1.0";
const GLOBAL_PK: &str = "DEVEVT";
const NETWORK_PK: &str = "DEVEVT#NET";

/// The event types of the PiDashboard client (`src/domain/types/sse.ts`, `SSEEventType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "connection.established")]
    ConnectionEstablished,
    #[serde(rename = "connection.heartbeat")]
    ConnectionHeartbeat,
    #[serde(rename = "session.status")]
    SessionStatus,
    #[serde(rename = "device.state_changed")]
    DeviceStateChanged,
    #[serde(rename = "device.discovered")]
    DeviceDiscovered,
    #[serde(rename = "network.status_changed")]
    NetworkStatusChanged,
    #[serde(rename = "error")]
    Error,
}

impl EventKind {
    /// The wire name (`event:` line and `type` field).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ConnectionEstablished => "connection.established",
            EventKind::ConnectionHeartbeat => "connection.heartbeat",
            EventKind::SessionStatus => "session.status",
            EventKind::DeviceStateChanged => "device.state_changed",
            EventKind::DeviceDiscovered => "device.discovered",
            EventKind::NetworkStatusChanged => "network.status_changed",
            EventKind::Error => "error",
        }
    }
}

/// One logged event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceEvent {
    /// Sortable id, the SSE `id:` line (`Last-Event-ID`).
    pub id: String,
    pub kind: EventKind,
    /// RFC 3339 UTC.
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub payload: Value,
}

impl DeviceEvent {
    /// A new event stamped `now`, with a fresh id.
    ///
    /// When `now` is the current time cut to the second ([`crate::clock::now`]), the id is
    /// drawn from the wall clock to the millisecond instead, so ids follow commit order within
    /// the readers' settle window; an injected clock (tests) is used as given.
    pub fn new(kind: EventKind, session_id: Option<&str>, payload: Value, now: OffsetDateTime) -> Self {
        DeviceEvent {
            id: new_event_id(id_time(now)),
            kind,
            timestamp: crate::clock::rfc3339(now.replace_nanosecond(0).unwrap_or(now)),
            session_id: session_id.map(str::to_owned),
            payload,
        }
    }

    /// The `SSEEventEnvelope` JSON of the client and the seed (`data:` line).
    pub fn envelope(&self) -> Value {
        let mut v = serde_json::json!({
            "version": ENVELOPE_VERSION,
            "type": self.kind.as_str(),
            "timestamp": self.timestamp,
            "payload": self.payload,
        });
        if let Some(session) = &self.session_id {
            v["session_id"] = Value::String(session.clone());
        }
        v
    }

    /// [`DeviceEvent::envelope`] as JSON text with the members in the seed's order (the SSE
    /// `data:` line).
    pub fn envelope_text(&self) -> String {
        envelope_text(self.kind, &self.timestamp, self.session_id.as_deref(), &self.payload)
    }

    /// The transaction write that appends this event; put it in the same
    /// [`Store::transact`] as the change it announces. When a caller retries that transaction
    /// (a lost race, re-read and recommit), it draws the event anew for each attempt: streams
    /// tail the log `settle` behind now, so an id drawn long before its commit could already
    /// be behind a live reader's cursor.
    pub fn write(&self) -> Result<Write> {
        let pk = match &self.session_id {
            Some(s) => format!("DEVEVT#S#{s}"),
            None => NETWORK_PK.to_owned(),
        };
        let data = serde_json::to_value(self).map_err(|e| Error::Internal(format!("event: {e}")))?;
        let mut item = Item::new(pk, self.id.clone(), data);
        item.gsi1 = Some(IndexKey { pk: GLOBAL_PK.to_owned(), sk: self.id.clone() });
        item.expires_at = Some(unix(&self.id).unwrap_or(0) / 1000 + EVENT_TTL_SECS);
        Ok(Write::Put { item, condition: Condition::Absent })
    }
}

/// The wall clock when `now` is it cut to the second, else `now`.
fn id_time(now: OffsetDateTime) -> OffsetDateTime {
    let wall = OffsetDateTime::now_utc();
    let behind = wall - now;
    if now.nanosecond() == 0 && behind >= time::Duration::ZERO && behind < time::Duration::SECOND {
        wall
    } else {
        now
    }
}

/// A UUIDv7 for `now`, lower-case hex without hyphens. Within one process, ids drawn in the
/// same millisecond count up (the 12 `rand_a` bits are a sequence), so they sort in the order
/// they were drawn; the remaining 62 bits are random. See [`super::live`].
pub fn new_event_id(now: OffsetDateTime) -> String {
    super::live::draw((now.unix_timestamp_nanos() / 1_000_000).max(0) as u64)
}

/// The id of the event `write` appends, if it appends one.
pub(crate) fn appended_id(write: &Write) -> Option<String> {
    match write {
        Write::Put { item, .. } if item.gsi1.as_ref().is_some_and(|g| g.pk == GLOBAL_PK) => Some(item.sk.clone()),
        _ => None,
    }
}

/// Whether `id` is usable as a session id in the log's keys and the stream's filter: 1 to
/// 128 of `A-Z a-z 0-9 - _ . :`.
pub fn is_session_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// The `connection.established` envelope a stream opens with (not logged), as JSON text: the
/// seed's example exactly, plus `session_id` in the envelope and the payload when filtered
/// (the client's `ConnectionEstablishedPayload`).
pub fn connection_established(session: Option<&str>, now: OffsetDateTime) -> String {
    let mut payload = serde_json::json!({ "message": "Connected to batch provisioning events" });
    if let Some(s) = session {
        payload["session_id"] = Value::String(s.to_owned());
    }
    let timestamp = crate::clock::rfc3339(now.replace_nanosecond(0).unwrap_or(now));
    envelope_text(EventKind::ConnectionEstablished, &timestamp, session, &payload)
}

/// A `connection.heartbeat` envelope (not logged; the client's `HeartbeatPayload` is `null`).
pub fn heartbeat(session: Option<&str>, now: OffsetDateTime) -> String {
    let timestamp = crate::clock::rfc3339(now.replace_nanosecond(0).unwrap_or(now));
    envelope_text(EventKind::ConnectionHeartbeat, &timestamp, session, &Value::Null)
}

/// The envelope's members in the seed's order (`version`, `type`, `timestamp`, `session_id`,
/// `payload`); `serde_json::Value` would sort them.
#[derive(Serialize)]
struct EnvelopeText<'a> {
    version: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    payload: &'a Value,
}

fn envelope_text(kind: EventKind, timestamp: &str, session: Option<&str>, payload: &Value) -> String {
    let text = EnvelopeText { version: ENVELOPE_VERSION, kind: kind.as_str(), timestamp, session_id: session, payload };
    serde_json::to_string(&text).unwrap_or_default()
}

/// Whether `id` has the shape of an event id (32 lower-case hex digits); anything else in a
/// `Last-Event-ID` is a client error.
pub fn is_event_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn unix(id: &str) -> Option<i64> {
    i64::from_str_radix(id.get(..12)?, 16).ok()
}

/// The events after `after` (exclusive; from the oldest kept when `None`) up to `settle`
/// before `now`, oldest first, at most `limit` (1..=1000). `session` limits the read to one
/// session's events; `None` reads every session's and the network's.
pub async fn read_after(
    store: &dyn Store,
    session: Option<&str>,
    after: Option<&str>,
    now: OffsetDateTime,
    settle: time::Duration,
    limit: u32,
) -> Result<Vec<DeviceEvent>> {
    let cutoff_ms = ((now - settle).unix_timestamp_nanos() / 1_000_000).max(0);
    read_through(store, session, after, &format!("{cutoff_ms:012x}~"), limit).await
}

/// The events after `after` (exclusive) up to `upper` (inclusive, an id or an id prefix),
/// oldest first, at most `limit` (1..=1000); [`super::live::horizon`] gives `upper` in
/// `serve`.
pub async fn read_through(store: &dyn Store, session: Option<&str>, after: Option<&str>, upper: &str, limit: u32) -> Result<Vec<DeviceEvent>> {
    let lower = after.map(|a| format!("{a}~")).unwrap_or_else(|| "0".to_owned());
    if lower.as_str() > upper {
        return Ok(Vec::new());
    }
    let (index, pk) = match session {
        Some(s) => (Index::Primary, format!("DEVEVT#S#{s}")),
        None => (Index::Gsi1, GLOBAL_PK.to_owned()),
    };
    let range = SkRange::Between(lower, upper.to_owned());
    let page = store.query(Query { index, pk, range, limit: limit.clamp(1, 1000), cursor: None, descending: false }).await?;
    page.items
        .into_iter()
        .map(|item| serde_json::from_value(item.data).map_err(|e| Error::Internal(format!("stored event: {e}"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_sort_by_time_and_have_the_documented_shape() {
        let t = time::macros::datetime!(2026-11-30 12:00:00 UTC);
        let a = new_event_id(t);
        let b = new_event_id(t + time::Duration::milliseconds(1));
        assert!(is_event_id(&a), "{a}");
        assert!(a < b, "{a} !< {b}");
        assert_eq!(unix(&a), Some(t.unix_timestamp() * 1000));
        assert!(!is_event_id("../../etc"));
        assert!(!is_event_id(&a.to_uppercase()));
    }

    #[test]
    fn envelope_matches_the_seed_example() {
        let t = time::macros::datetime!(2026-01-11 21:45:29 UTC);
        let e = DeviceEvent::new(EventKind::DeviceDiscovered, Some("s1"), serde_json::json!({"mac": "AA:BB:CC:DD:EE:FF"}), t);
        let v = e.envelope();
        assert_eq!(v["version"], "1.0");
        assert_eq!(v["type"], "device.discovered");
        assert_eq!(v["timestamp"], "2026-01-11T21:45:29Z");
        assert_eq!(v["session_id"], "s1");
        assert_eq!(v["payload"]["mac"], "AA:BB:CC:DD:EE:FF");
        let text = e.envelope_text();
        assert!(text.starts_with(r#"{"version":"1.0","type":"device.discovered","timestamp":"2026-01-11T21:45:29Z","session_id":"s1","payload":{"#), "{text}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    }

    #[test]
    fn connection_established_is_the_seeds_line_exactly_and_names_the_session_when_filtered() {
        let t = time::macros::datetime!(2026-01-11 21:45:29 UTC);
        assert_eq!(
            connection_established(None, t),
            r#"{"version":"1.0","type":"connection.established","timestamp":"2026-01-11T21:45:29Z","payload":{"message":"Connected to batch provisioning events"}}"#
        );
        let v: Value = serde_json::from_str(&connection_established(Some("s1"), t)).unwrap();
        assert_eq!((v["session_id"].as_str(), v["payload"]["session_id"].as_str()), (Some("s1"), Some("s1")));
        assert_eq!(heartbeat(None, t), r#"{"version":"1.0","type":"connection.heartbeat","timestamp":"2026-01-11T21:45:29Z","payload":null}"#);
    }

    #[test]
    fn ids_drawn_in_one_millisecond_count_up_in_the_order_drawn() {
        let t = time::macros::datetime!(2030-01-01 00:00:00.123 UTC);
        let ids: Vec<String> = (0..50).map(|_| new_event_id(t)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| is_event_id(id) && id[..12] == ids[0][..12]));
    }
}
