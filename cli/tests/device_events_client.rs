//! Seed 002's event stream on a real `trustplane serve`, read by an SSE client library
//! (launchdarkly's `eventsource-client`, which reconnects by itself and sends `Last-Event-ID`
//! as a browser's `EventSource` does), while the devices API is driven over HTTP.

mod common;

use common::Server;
use eventsource_client::{Client, ClientBuilder, ReconnectOptions, SSE};
use futures::StreamExt;
use launchdarkly_sdk_transport::HyperTransport;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const EVENTS: &str = "/api/v1/provisioning/batch/events";

fn call(server: &Server, key: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    server.send_json(key, method, path, body)
}

fn start_session(server: &Server, key: &str) -> String {
    let (status, started) = call(server, key, "POST", "/api/v1/provisioning/batch/start", Some(json!({ "target_ssid": "Fleet" })));
    assert_eq!(status, 201, "{started}");
    started["data"]["session"]["id"].as_str().unwrap().to_owned()
}

/// Reports `count` devices into `session` one at a time, as a gateway would.
fn report_devices(server: &Server, key: &str, session: &str, count: usize, pause: Duration) {
    for i in 0..count {
        let seen = json!({ "devices": [{ "mac": format!("02:00:00:00:01:{i:02X}"), "ip": "10.0.0.9", "rssi": -40, "firmware_version": "1.0.0" }] });
        let (status, reply) = call(server, key, "POST", &format!("/api/v1/provisioning/gateway/sessions/{session}/devices"), Some(seen));
        assert_eq!(status, 200, "{reply}");
        std::thread::sleep(pause);
    }
}

fn client(server: &Server, key: &str, query: &str) -> impl Client {
    let url = format!("http://{}{EVENTS}{query}", server.addr());
    let reconnect = ReconnectOptions::reconnect(true).delay(Duration::from_millis(50)).retry_initial(true).build();
    let transport = HyperTransport::builder().build_http().unwrap();
    ClientBuilder::for_url(&url).unwrap().header("x-api-key", key).unwrap().reconnect(reconnect).build_with_transport(transport)
}

/// `(id, type)` of the logged events a client reads until `done` says it has enough, and
/// how many connections it opened.
async fn read_until(client: impl Client, deadline: Duration, done: impl Fn(&[(String, String)]) -> bool) -> (Vec<(String, String)>, usize) {
    let mut stream = client.stream();
    let (mut logged, mut connections) = (Vec::new(), 0);
    let until = Instant::now() + deadline;
    while !done(&logged) {
        let left = until.saturating_duration_since(Instant::now());
        let next = tokio::time::timeout(left, stream.next()).await.unwrap_or_else(|_| panic!("stream stalled; read so far: {logged:?}"));
        match next.expect("the client never ends by itself") {
            Ok(SSE::Connected(_)) => connections += 1,
            Ok(SSE::Event(e)) if e.event_type == "connection.established" || e.event_type == "connection.heartbeat" => {}
            Ok(SSE::Event(e)) => logged.push((e.id.expect("logged events carry an id"), e.event_type)),
            Ok(SSE::Comment(_)) => {}
            Err(e) => eprintln!("client error (it reconnects): {e:?}"),
        }
    }
    (logged, connections)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_client_library_reconnecting_after_each_server_ended_stream_receives_every_event_exactly_once_in_order() {
    let data = tempfile::tempdir().unwrap();
    let env = [("DEVICE_EVENTS_MAX_STREAM_SECS", "1"), ("DEVICE_EVENTS_RETRY_MS", "50"), ("DEVICES_RATE_PER_SEC", "1000"), ("DEVICES_RATE_BURST", "1000")];
    let server = std::sync::Arc::new(Server::start_with(data.path(), &env));
    let key = server.admin_key();
    let session = start_session(&server, &key);
    let reader = client(&server, &key, &format!("?session_id={session}"));
    let writer = {
        let (server, key, session) = (server.clone(), key.clone(), session.clone());
        tokio::task::spawn_blocking(move || report_devices(&server, &key, &session, 30, Duration::from_millis(100)))
    };
    let discovered = |l: &[(String, String)]| l.iter().filter(|(_, kind)| kind == "device.discovered").count();
    let (live, connections) = read_until(reader, Duration::from_secs(60), |l| discovered(l) == 30).await;
    writer.await.unwrap();
    assert!(connections >= 3, "the server ended the stream every second and the client came back: {connections} connections");

    let fresh = client(&server, &key, &format!("?session_id={session}"));
    let expected = live.len();
    let (log, _) = read_until(fresh, Duration::from_secs(30), |l| l.len() >= expected).await;
    assert_eq!(live, log, "what the reconnecting client saw is the session's log: each event once, in order");
    let mut sorted = live.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, live, "ids strictly increase");
    assert_eq!(live[0].1, "session.status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_serve_a_committed_event_wakes_open_streams_instead_of_waiting_for_a_poll() {
    let data = tempfile::tempdir().unwrap();
    let env = [("DEVICE_EVENTS_POLL_MS", "30000"), ("DEVICE_EVENTS_SETTLE_MS", "30000"), ("DEVICES_RATE_PER_SEC", "1000"), ("DEVICES_RATE_BURST", "1000")];
    let server = Server::start_with(data.path(), &env);
    let key = server.admin_key();
    let session = start_session(&server, &key);
    let reader = client(&server, &key, &format!("?session_id={session}"));
    let reading = tokio::spawn(read_until(reader, Duration::from_secs(10), |l| l.len() >= 3));
    tokio::time::sleep(Duration::from_millis(300)).await;
    report_devices(&server, &key, &session, 1, Duration::ZERO);
    let (seen, _) = reading.await.unwrap();
    assert_eq!(seen.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>(), ["session.status", "device.discovered", "session.status"]);
}
