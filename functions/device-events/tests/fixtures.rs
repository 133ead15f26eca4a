//! The Function URL fixtures under `events/device-events/`, replayed in-process through the
//! Lambda app as the runtime hands them over (payload 2.0). Streams are bounded to one second
//! here so their bodies end. (The emulator the buffered functions replay through cannot
//! stream; `tests/lambda_watch.rs` runs the binary under `cargo lambda watch` instead.)

mod support;

use serde_json::json;
use std::time::Duration;
use support::*;
use trustplane_core::services::devices::events::EventKind;
use trustplane_core::testkit::{fixture_text, replay_raw_in_process};

fn blocks(text: &str) -> Vec<String> {
    text.split("\n\n").filter(|b| !b.is_empty()).map(str::to_owned).collect()
}

#[tokio::test]
async fn the_keyed_stream_fixture_answers_with_the_connection_event_then_its_sessions_events() {
    let b = Backend::sqlite_with(|c| c.device_events.max_stream = Duration::from_secs(1)).await;
    let (session, started) = b.session().await;
    let e = b.append(EventKind::DeviceDiscovered, Some(&session), json!({ "mac": "AA:BB:CC:DD:EE:01" })).await;
    b.append(EventKind::DeviceDiscovered, Some("elsewhere"), json!({})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let app = device_events::app(b.state.clone());
    let answer = replay_raw_in_process(&app, &fixture_text("device-events", "stream", &[("KEY", &b.key), ("SESSION", &session)])).await;
    assert_eq!((answer.status, answer.content_type.as_deref()), (200, Some("text/event-stream")));
    let blocks = blocks(&answer.text());
    assert!(blocks[0].starts_with("event:connection.established\ndata:{\"version\":\"1.0\",\"type\":\"connection.established\""), "{blocks:?}");
    assert!(blocks[1].starts_with(&format!("id:{started}\nevent:session.status\n")), "{blocks:?}");
    assert_eq!(blocks[2], format!("id:{}\nevent:device.discovered\ndata:{}", e.id, e.envelope_text()));
    assert!(blocks.last().unwrap().contains("retry:"), "{blocks:?}");
    assert_eq!(blocks.len(), 4, "{blocks:?}");
}

#[tokio::test]
async fn the_ticket_fixture_issues_a_ticket_that_the_unnamed_stream_fixture_resumes_with() {
    let b = Backend::sqlite_with(|c| c.device_events.max_stream = Duration::from_secs(1)).await;
    let (session, _) = b.session().await;
    let first = b.append(EventKind::SessionStatus, Some(&session), json!({ "n": 1 })).await;
    let second = b.append(EventKind::SessionStatus, Some(&session), json!({ "n": 2 })).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let app = device_events::app(b.state.clone());
    let issued = replay_raw_in_process(&app, &fixture_text("device-events", "ticket", &[("KEY", &b.key), ("SESSION", &session)])).await;
    assert_eq!(issued.status, 201, "{}", issued.text());
    let ticket = issued.json()["data"]["ticket"].as_str().unwrap().to_owned();
    let subs = [("SESSION", session.as_str()), ("TICKET", ticket.as_str()), ("LAST_EVENT_ID", first.id.as_str())];
    let answer = replay_raw_in_process(&app, &fixture_text("device-events", "stream-ticket", &subs)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let blocks = blocks(&answer.text());
    assert!(blocks.iter().all(|b| !b.contains("event:")), "{blocks:?}");
    assert_eq!(blocks[1], format!("id:{}\ndata:{}", second.id, second.envelope_text()));
}
