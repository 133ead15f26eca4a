//! The SSE stream over a real HTTP server, on SQLite and on DynamoDB (moto): the seed's first
//! event, logged events in order with ids, resume with `Last-Event-ID` without loss or
//! duplicates, the session filter, heartbeats, unnamed mode, the lifetime bound, and the
//! errors in the seed's envelope.

mod support;

use serde_json::json;
use std::time::Duration;
use support::*;
use trustplane_core::on_both_backends;
use trustplane_core::services::devices::events::EventKind;

on_both_backends!(
    appended_events_arrive_in_order_with_their_ids_after_the_connection_event,
    a_client_that_disconnects_mid_batch_and_reconnects_with_last_event_id_receives_every_event_exactly_once_in_order,
    a_session_filtered_stream_sees_only_its_sessions_events,
    a_stream_filtered_on_an_unknown_session_is_refused_with_404_session_not_found,
);

const WAIT: Duration = Duration::from_secs(10);
const EVENTS: &str = "/api/v1/provisioning/batch/events";

#[tokio::test]
async fn the_first_event_is_connection_established_exactly_as_the_seed_shows() {
    let b = Backend::sqlite().await;
    let mut opened = b.open_keyed(EVENTS, &[]).await;
    assert_eq!(opened.status, 200);
    assert_eq!(opened.headers.get("content-type").unwrap(), "text/event-stream");
    assert_eq!(opened.headers.get("cache-control").unwrap(), "no-cache, no-store");
    let first = opened.reader.block(WAIT).await.expect("a first block");
    let ts = first.json()["timestamp"].as_str().unwrap().to_owned();
    assert!(time::OffsetDateTime::parse(&ts, &time::format_description::well_known::Rfc3339).is_ok() && ts.ends_with('Z'), "{ts}");
    let expected = format!(
        "event:connection.established\ndata:{{\"version\":\"1.0\",\"type\":\"connection.established\",\"timestamp\":\"{ts}\",\"payload\":{{\"message\":\"Connected to batch provisioning events\"}}}}"
    );
    assert_eq!(first.raw, expected);
}

async fn appended_events_arrive_in_order_with_their_ids_after_the_connection_event(b: Backend) {
    let mut opened = b.open_keyed(EVENTS, &[]).await;
    assert_eq!(opened.reader.event(WAIT).await.unwrap().kind(), "connection.established");
    let mut written = Vec::new();
    for i in 0..5 {
        let session = if i % 2 == 0 { Some("s-1") } else { None };
        written.push(b.append(EventKind::DeviceDiscovered, session, json!({ "mac": format!("AA:BB:CC:DD:EE:0{i}") })).await);
    }
    let got = opened.reader.logged(5, WAIT).await;
    let ids: Vec<_> = got.iter().map(|e| e.id.clone().unwrap()).collect();
    let want: Vec<_> = written.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, want);
    for (block, event) in got.iter().zip(&written) {
        assert_eq!(block.event.as_deref(), Some("device.discovered"));
        assert_eq!(block.data.as_deref(), Some(event.envelope_text().as_str()));
        assert_eq!(block.json(), event.envelope());
    }
}

async fn a_client_that_disconnects_mid_batch_and_reconnects_with_last_event_id_receives_every_event_exactly_once_in_order(b: Backend) {
    let b = std::sync::Arc::new(b);
    let writer = {
        let b = b.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..100 {
                let session = ["s-a", "s-b"][i % 2];
                ids.push(b.append(EventKind::DeviceStateChanged, Some(session), json!({ "mac": "AA:BB:CC:DD:EE:FF", "n": i })).await.id);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            ids
        })
    };
    let mut first = b.open_keyed(EVENTS, &[]).await;
    let mut received: Vec<String> = first.reader.logged(30, WAIT).await.into_iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(received.len(), 30);
    drop(first);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let last = received.last().unwrap().clone();
    let mut second = b.open_keyed(EVENTS, &[("last-event-id", &last)]).await;
    assert_eq!(second.status, 200);
    let written = writer.await.unwrap();
    received.extend(second.reader.logged(70, WAIT).await.into_iter().map(|e| e.id.unwrap()));
    assert_eq!(received, written, "every event once, in order");
    let extra = second.reader.logged(1, Duration::from_millis(500)).await;
    assert!(extra.is_empty(), "no duplicate after the last: {extra:?}");
}

async fn a_session_filtered_stream_sees_only_its_sessions_events(b: Backend) {
    let ((mine_id, started), (other_id, _)) = (b.session().await, b.session().await);
    let mut opened = b.open_keyed(&format!("{EVENTS}?session_id={mine_id}&last_event_id={started}"), &[]).await;
    let hello = opened.reader.event(WAIT).await.unwrap().json();
    assert_eq!((hello["session_id"].as_str(), hello["payload"]["session_id"].as_str()), (Some(mine_id.as_str()), Some(mine_id.as_str())));
    let mut mine = Vec::new();
    for i in 0..6 {
        let session = [&mine_id, &other_id][i % 2];
        let e = b.append(EventKind::SessionStatus, Some(session), json!({ "i": i })).await;
        b.append(EventKind::NetworkStatusChanged, None, json!({ "connected": true })).await;
        if session == &mine_id {
            mine.push(e.id);
        }
    }
    let got = opened.reader.logged(10, Duration::from_secs(2)).await;
    let ids: Vec<_> = got.iter().map(|e| e.id.clone().unwrap()).collect();
    assert_eq!(ids, mine);
    assert!(got.iter().all(|e| e.json()["session_id"] == mine_id.as_str()));
}

async fn a_stream_filtered_on_an_unknown_session_is_refused_with_404_session_not_found(b: Backend) {
    let opened = b.open_keyed(&format!("{EVENTS}?session_id=sess_never_started"), &[]).await;
    assert_eq!(opened.status, 404);
    let body = opened.json().await;
    assert_eq!((body["success"].as_bool(), body["error"]["code"].as_str()), (Some(false), Some("SESSION_NOT_FOUND")), "{body}");
    let (id, _) = b.session().await;
    assert_eq!(b.open_keyed(&format!("{EVENTS}?session_id={id}"), &[]).await.status, 200);
}

#[tokio::test]
async fn an_event_logged_before_the_client_connects_is_replayed_and_a_resume_id_past_it_skips_it() {
    let b = Backend::sqlite().await;
    let (id, started) = b.session().await;
    let old = b.append(EventKind::DeviceDiscovered, Some(&id), json!({})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fresh = b.open_keyed(&format!("{EVENTS}?session_id={id}"), &[]).await;
    let replayed: Vec<_> = fresh.reader.logged(2, WAIT).await.into_iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(replayed, [started, old.id.clone()]);
    let mut resumed = b.open_keyed(&format!("{EVENTS}?session_id={id}&last_event_id={}", old.id), &[]).await;
    assert!(resumed.reader.logged(1, Duration::from_millis(500)).await.is_empty());
}

#[tokio::test]
async fn a_heartbeat_arrives_every_configured_period_with_a_null_payload() {
    let b = Backend::sqlite_with(|c| c.device_events.heartbeat = Duration::from_millis(200)).await;
    let mut opened = b.open_keyed(EVENTS, &[]).await;
    opened.reader.event(WAIT).await.unwrap();
    let started = std::time::Instant::now();
    for _ in 0..2 {
        let beat = opened.reader.event(Duration::from_secs(2)).await.expect("a heartbeat");
        assert_eq!(beat.event.as_deref(), Some("connection.heartbeat"));
        assert_eq!((beat.json()["type"].as_str(), &beat.json()["payload"]), (Some("connection.heartbeat"), &serde_json::Value::Null));
        assert!(beat.id.is_none(), "heartbeats carry no id, so they do not move Last-Event-ID");
    }
    assert!(started.elapsed() >= Duration::from_millis(350), "{:?}", started.elapsed());
}

#[tokio::test]
async fn unnamed_mode_sends_no_event_lines_so_onmessage_receives_every_event() {
    let b = Backend::sqlite_with(|c| c.device_events.heartbeat = Duration::from_millis(300)).await;
    let mut opened = b.open_keyed(&format!("{EVENTS}?named=false"), &[]).await;
    b.append(EventKind::Error, None, json!({ "code": "X" })).await;
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let block = opened.reader.event(WAIT).await.expect("an event");
        assert!(!block.raw.contains("event:"), "{}", block.raw);
        kinds.push(block.kind());
    }
    assert_eq!(kinds[0], "connection.established");
    assert!(kinds.contains(&"error".to_owned()) && kinds.contains(&"connection.heartbeat".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn a_stream_ends_at_its_lifetime_with_a_retry_hint_and_a_reconnect_resumes() {
    let b = Backend::sqlite_with(|c| {
        c.device_events.max_stream = Duration::from_secs(1);
        c.device_events.retry = Duration::from_millis(250);
    })
    .await;
    let mut opened = b.open_keyed(EVENTS, &[]).await;
    let e = b.append(EventKind::DeviceDiscovered, None, json!({})).await;
    assert_eq!(opened.reader.logged(1, WAIT).await[0].id.as_deref(), Some(e.id.as_str()));
    let mut last = None;
    while let Some(block) = opened.reader.block(Duration::from_secs(3)).await {
        last = Some(block);
    }
    assert!(opened.reader.ended(), "the body ends");
    assert_eq!(last.expect("a closing block").retry, Some(250));
    let mut again = b.open_keyed(EVENTS, &[("last-event-id", &e.id)]).await;
    assert!(again.reader.logged(1, Duration::from_millis(400)).await.is_empty());
}

#[tokio::test]
async fn errors_come_in_the_seeds_envelope_without_credentials_with_the_wrong_scope_or_a_bad_resume_id() {
    let b = Backend::sqlite().await;
    let none = b.open(EVENTS, &[]).await;
    assert_eq!(none.status, 401);
    let body = none.json().await;
    assert_eq!((body["success"].as_bool(), body["error"]["code"].as_str()), (Some(false), Some("UNAUTHORIZED")), "{body}");
    assert!(body["correlation_id"].is_string() && body["timestamp"].is_string());
    let writer = trustplane_core::testkit::mint_key(&b.state, &["devices:write"]).await;
    let wrong = b.open(EVENTS, &[("x-api-key", &writer)]).await;
    assert_eq!(wrong.status, 403);
    let bad = b.open(EVENTS, &[("x-api-key", "tp_nope")]).await;
    assert_eq!(bad.status, 401);
    for (path, header) in [(format!("{EVENTS}?last_event_id=12"), None), (EVENTS.to_owned(), Some("../x")), (format!("{EVENTS}?session_id=a/b"), None), (format!("{EVENTS}?named=maybe"), None)] {
        let extra: Vec<(&str, &str)> = header.map(|h| vec![("last-event-id", h)]).unwrap_or_default();
        let opened = b.open_keyed(&path, &extra).await;
        assert_eq!(opened.status, 400, "{path}");
        let body = opened.json().await;
        assert_eq!(body["error"]["code"], "VALIDATION_FAILED", "{body}");
    }
}
