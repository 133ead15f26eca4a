//! Stream tickets: `POST /batch/events/ticket` with a `devices:read` key, then `?ticket=` in
//! place of the header an `EventSource` cannot send; bound to one session, valid 60 s, never
//! logged.

mod support;

use std::time::Duration;
use support::*;
use trustplane_core::testkit::logs::Captured;
use trustplane_core::testkit::mint_key;

const EVENTS: &str = "/api/v1/provisioning/batch/events";
const TICKET: &str = "/api/v1/provisioning/batch/events/ticket";
const WAIT: Duration = Duration::from_secs(10);

async fn ticket(b: &Backend, body: Option<&str>) -> String {
    let (status, reply) = b.post(TICKET, Some(&b.key), body).await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["success"], true);
    assert_eq!(reply["data"]["expires_in"].as_i64(), Some(b.state.config.device_events.ticket_ttl_secs));
    assert!(reply["data"]["expires_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{reply}");
    reply["data"]["ticket"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_ticket_for_one_session_opens_that_sessions_stream_only() {
    let b = Backend::sqlite().await;
    let ((a, _), (other_session, _)) = (b.session().await, b.session().await);
    let t = ticket(&b, Some(&format!(r#"{{"session_id":"{a}"}}"#))).await;
    let mut ok = b.open(&format!("{EVENTS}?session_id={a}&ticket={t}"), &[]).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.reader.event(WAIT).await.unwrap().json()["session_id"], a.as_str());
    for other in [format!("{EVENTS}?session_id={other_session}&ticket={t}"), format!("{EVENTS}?ticket={t}")] {
        let refused = b.open(&other, &[]).await;
        assert_eq!(refused.status, 403, "{other}");
        assert_eq!(refused.json().await["error"]["code"], "FORBIDDEN");
    }
}

#[tokio::test]
async fn a_ticket_without_a_session_opens_the_unfiltered_stream_and_an_empty_body_is_allowed() {
    let b = Backend::sqlite().await;
    let t = ticket(&b, None).await;
    assert_eq!(b.open(&format!("{EVENTS}?ticket={t}"), &[]).await.status, 200);
    let (any, _) = b.session().await;
    assert_eq!(b.open(&format!("{EVENTS}?ticket={t}&session_id={any}"), &[]).await.status, 200);
    assert_eq!(b.open(&format!("{EVENTS}?ticket={t}&session_id=sess_unknown"), &[]).await.status, 404);
}

#[tokio::test]
async fn a_ticket_expires_after_its_lifetime_and_a_tampered_one_is_refused() {
    // Two seconds: whole-second claims leave it at least one second of life after issue.
    let b = Backend::sqlite_with(|c| c.device_events.ticket_ttl_secs = 2).await;
    let t = ticket(&b, None).await;
    let mut tampered = t.clone().into_bytes();
    let at = tampered.len() - 3;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(b.open(&format!("{EVENTS}?ticket={tampered}"), &[]).await.status, 401);
    assert_eq!(b.open(&format!("{EVENTS}?ticket={t}"), &[]).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let expired = b.open(&format!("{EVENTS}?ticket={t}"), &[]).await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.json().await["error"]["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn only_a_devices_read_key_gets_a_ticket_and_a_bad_session_id_is_a_validation_failure() {
    let b = Backend::sqlite().await;
    let (status, body) = b.post(TICKET, None, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("UNAUTHORIZED")), "{body}");
    let gateway = mint_key(&b.state, &["devices:gateway"]).await;
    assert_eq!(b.post(TICKET, Some(&gateway), None).await.0, 403);
    let (status, body) = b.post(TICKET, Some(&b.key), Some(r#"{"session_id":"a b"}"#)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("VALIDATION_FAILED")), "{body}");
}

#[tokio::test]
async fn the_tickets_secret_never_reaches_the_logs() {
    let captured = Captured::global();
    let b = Backend::sqlite().await;
    let (session, _) = b.session().await;
    let t = ticket(&b, Some(&format!(r#"{{"session_id":"{session}"}}"#))).await;
    let mut opened = b.open(&format!("{EVENTS}?session_id={session}&ticket={t}"), &[]).await;
    assert_eq!(opened.status, 200);
    opened.reader.event(WAIT).await.unwrap();
    assert_eq!(b.open(&format!("{EVENTS}?session_id=other&ticket={t}"), &[]).await.status, 403);
    drop(opened);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let lines = captured.lines();
    assert!(lines.iter().any(|l| l.to_string().contains(EVENTS)), "the requests were logged: {lines:?}");
    let signature = t.rsplit('.').next().unwrap();
    assert!(lines.iter().all(|l| !l.to_string().contains(signature)), "a log line holds the ticket");
}
