//! Slow and malformed clients against the real `trustplane serve`, over raw TCP sockets: header
//! and body read timeouts, the connection cap, `Content-Length` refused before `100 Continue`,
//! and RFC 9112 §3.2 `Host` checks. Limits are set tiny through the environment.

mod common;

use common::{read_response, RawResponse, Server};
use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn start(limits: &[(&str, &str)]) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Server::start_with(dir.path(), limits), dir)
}

/// Method, path, and the check that an error body is in the path's contract format.
type Route = (&'static str, &'static str, fn(&Value) -> bool);

/// A route of each contract format that reads its body before anything else can fail.
fn body_routes() -> [Route; 5] {
    [
        ("POST", "/api/v1/provision", |v| v.as_object().is_some_and(|o| o.len() == 1 && o["error"].is_string())),
        ("PUT", "/puppet-ca/v1/certificate_request/web01", |v| v["code"].is_string() && v["details"]["timestamp"].is_string()),
        ("POST", "/api/v1/provisioning/allowlist", |v| v["success"] == false && v["error"]["code"].is_string() && v["error"]["retryable"].is_boolean() && v["timestamp"].is_string()),
        ("POST", "/provision/tenants/init", |v| v["type"].as_str().is_some_and(|t| t.starts_with("https://tools.ietf.org/html/rfc"))),
        ("POST", "/api/v1/subjects", |v| v["type"] == "about:blank" && v["instance"] == "/api/v1/subjects"),
    ]
}

fn send(stream: &mut TcpStream, text: &str) {
    stream.write_all(text.as_bytes()).unwrap();
}

fn request_head(server: &Server, method: &str, path: &str, length: usize, extra: &str) -> String {
    let key = server.admin_key();
    format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-API-Key: {key}\r\nContent-Length: {length}\r\n{extra}\r\n", server.addr())
}

fn assert_closed(stream: &mut TcpStream, within: Duration) {
    let started = Instant::now();
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) | Err(_) if started.elapsed() >= within => panic!("still open after {within:?} (read {rest:?})"),
        Ok(0) => {}
        Ok(_) => panic!("expected no bytes before the close, got {:?}", String::from_utf8_lossy(&rest)),
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
    }
}

fn assert_in_format(response: &RawResponse, status: u16, path: &str, in_format: fn(&Value) -> bool) {
    assert_eq!(response.status, status, "{path}: {response:?}");
    assert!(in_format(&response.json()), "{path}: not in the group's format: {}", response.body);
    assert!(response.header("x-correlation-id").is_some_and(|id| !id.is_empty()), "{path}: {}", response.head);
}

#[test]
fn an_unfinished_header_block_is_closed_without_a_response_once_the_header_timeout_passes() {
    let (server, _dir) = start(&[("TRUSTPLANE_HEADER_TIMEOUT_SECS", "1")]);
    let mut partial = server.connect(Duration::from_secs(6));
    send(&mut partial, &format!("GET /health HTTP/1.1\r\nHost: {}\r\n", server.addr()));
    let mut silent = server.connect(Duration::from_secs(6));
    let started = Instant::now();
    assert_closed(&mut partial, Duration::from_secs(4));
    assert_closed(&mut silent, Duration::from_secs(4));
    assert!(started.elapsed() >= Duration::from_millis(800), "closed before the timeout: {:?}", started.elapsed());
}

#[test]
fn a_body_that_stops_arriving_gets_408_in_the_groups_format_and_the_connection_closes() {
    let (server, _dir) = start(&[("TRUSTPLANE_BODY_TIMEOUT_SECS", "1")]);
    for (method, path, in_format) in body_routes() {
        let mut stream = server.connect(Duration::from_secs(6));
        send(&mut stream, &request_head(&server, method, path, 1035, ""));
        send(&mut stream, "{\"name\":\"");
        let started = Instant::now();
        let response = read_response(&mut stream).unwrap_or_else(|e| panic!("{path}: no response: {e}"));
        assert!(started.elapsed() < Duration::from_secs(4), "{path}: took {:?}", started.elapsed());
        assert_in_format(&response, 408, path, in_format);
        assert_eq!(response.header("connection"), Some("close"), "{path}: {}", response.head);
        assert_closed(&mut stream, Duration::from_secs(2));
    }
}

#[test]
fn a_declared_content_length_above_the_limit_gets_413_at_once_without_100_continue() {
    let (server, _dir) = start(&[]);
    for (method, path, in_format) in body_routes() {
        let mut stream = server.connect(Duration::from_secs(3));
        send(&mut stream, &request_head(&server, method, path, 30 * 1024 * 1024, "Expect: 100-continue\r\n"));
        let response = read_response(&mut stream).unwrap_or_else(|e| panic!("{path}: no response: {e}"));
        assert_in_format(&response, 413, path, in_format);
        assert_eq!(response.header("connection"), Some("close"), "{path}: {}", response.head);
    }
}

#[test]
fn requests_without_exactly_one_valid_host_header_get_400_in_the_groups_format() {
    let (server, _dir) = start(&[]);
    let host = server.addr().to_owned();
    let cases = [
        ("GET /health HTTP/1.1\r\n\r\n".to_owned(), "/health"),
        (format!("GET /api/v1/ca/status HTTP/1.1\r\nHost: {host}\r\nHost: {host}\r\n\r\n"), "/api/v1/ca/status"),
        ("GET /provision/tenants/x/status HTTP/1.1\r\nHost: a b\r\n\r\n".to_owned(), "/provision/tenants/x/status"),
        ("GET /api/v1/provision-keys HTTP/1.1\r\nHost: user@host\r\n\r\n".to_owned(), "/api/v1/provision-keys"),
    ];
    for (request, path) in cases {
        let mut stream = server.connect(Duration::from_secs(3));
        send(&mut stream, &request);
        let response = read_response(&mut stream).unwrap_or_else(|e| panic!("{path}: no response: {e}"));
        let format = |v: &Value| match path {
            "/api/v1/ca/status" => v["code"] == "VALIDATION_FAILED",
            "/provision/tenants/x/status" => v["type"] == "https://tools.ietf.org/html/rfc7231#section-6.5.1",
            "/api/v1/provision-keys" => v.as_object().is_some_and(|o| o.len() == 1),
            _ => v["type"] == "about:blank",
        };
        assert_eq!(response.status, 400, "{request:?}: {response:?}");
        assert!(format(&response.json()), "{request:?}: {}", response.body);
    }
    let mut old = server.connect(Duration::from_secs(3));
    send(&mut old, "GET /health HTTP/1.0\r\n\r\n");
    assert_eq!(read_response(&mut old).unwrap().status, 200, "RFC 9112 §3.2 requires Host of HTTP/1.1 requests only");
}

#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    let (server, _dir) = start(&[("TRUSTPLANE_MAX_CONNECTIONS", "2"), ("TRUSTPLANE_HEADER_TIMEOUT_SECS", "30")]);
    let first = server.connect(Duration::from_secs(1));
    let _second = server.connect(Duration::from_secs(1));
    std::thread::sleep(Duration::from_millis(300));
    let mut third = server.connect(Duration::from_millis(1500));
    send(&mut third, &format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr()));
    let waiting = read_response(&mut third);
    assert!(matches!(&waiting, Err(e) if e.kind() == ErrorKind::WouldBlock), "a third connection was served at once: {waiting:?}");
    drop(first);
    third.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(read_response(&mut third).expect("served once a slot is free").status, 200);
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection_and_closes_it_once_idle_past_the_header_timeout() {
    let (server, _dir) = start(&[("TRUSTPLANE_HEADER_TIMEOUT_SECS", "1")]);
    let mut stream = server.connect(Duration::from_secs(6));
    for _ in 0..3 {
        send(&mut stream, &format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr()));
        let response = read_response(&mut stream).unwrap();
        assert_eq!((response.status, response.json()["status"].as_str()), (200, Some("ok")));
    }
    let body = r#"{"name":"Acme Corporation","slug":"acme","plan":"Basic"}"#;
    send(&mut stream, &format!("{}{body}", request_head(&server, "POST", "/provision/tenants/init", body.len(), "")));
    let response = read_response(&mut stream).unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.json()["confirmToken"].is_string());
    assert_closed(&mut stream, Duration::from_secs(4));
}

#[test]
fn a_request_in_flight_when_sigterm_arrives_is_answered_before_serve_exits() {
    let (server, _dir) = start(&[]);
    let mut idle = server.connect(Duration::from_secs(5));
    send(&mut idle, &format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr()));
    assert_eq!(read_response(&mut idle).unwrap().status, 200);
    let body = r#"{"name":"Acme Corporation","slug":"acme","plan":"Basic"}"#;
    let mut stream = server.connect(Duration::from_secs(5));
    send(&mut stream, &request_head(&server, "POST", "/provision/tenants/init", body.len(), ""));
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    std::thread::sleep(Duration::from_millis(300));
    send(&mut stream, body);
    assert_eq!(read_response(&mut stream).unwrap().status, 200);
    assert_closed(&mut idle, Duration::from_secs(2));
    let stopped = server.wait();
    assert!(stopped.status.success(), "{}: {}", stopped.status, stopped.stderr);
}
