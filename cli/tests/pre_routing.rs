//! Requests refused before any router sees them (issue 14, item 8), against the real
//! `trustplane serve` over raw TCP sockets: bad bytes in the request target, a target over the
//! limit (414), a header block over the limit (431), malformed request lines and header fields.
//! Each answer is complete — status, `content-type`, a JSON body in the format of the group whose
//! path prefix the target is under (problem+json without one), `x-correlation-id`,
//! `connection: close` — and the connection closes after it; requests within the limits, on new
//! and on keep-alive connections, are still served.

mod common;

use common::{read_pipelined_response, read_response, RawResponse, Server};
use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The error formats of the route groups (README, "Errors").
#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    /// Seed 000 `{"error"}`.
    Simple,
    /// Seed 001 `{"error","code","details"}`.
    Puppet,
    /// Seed 003's RFC 7807 shape.
    Tenant,
    /// RFC 9457 problem+json.
    Problem,
    /// Seed 002's `{"success": false, "error", "correlation_id", "timestamp"}` envelope.
    Envelope,
    /// RFC 8555 §6.7's `{"type": "urn:ietf:params:acme:error:…", "detail", "status"}`.
    Acme,
}

/// A target under each group's prefix, and the format the group answers in.
const GROUPS: [(&str, Format); 7] = [
    ("/api/v1/provision-keys/k1", Format::Simple),
    ("/api/v1/ca/sign/web01", Format::Puppet),
    ("/puppet-ca/v1/certificate/web01", Format::Puppet),
    ("/api/v1/provisioning/batch/s1", Format::Envelope),
    ("/provision/tenants/t1/status", Format::Tenant),
    ("/acme/a1/new-order", Format::Acme),
    ("/other/x", Format::Problem),
];

fn start() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Server::start(dir.path()), dir)
}

fn head(request_line: &[u8], host: &str, fields: &str) -> Vec<u8> {
    let mut bytes = request_line.to_vec();
    bytes.extend_from_slice(format!("\r\nHost: {host}\r\n{fields}\r\n").as_bytes());
    bytes
}

/// `GET <path><suffix> HTTP/1.1` with a Host header and `fields`.
fn get(host: &str, path: &str, suffix: &[u8], fields: &str) -> Vec<u8> {
    let mut line = format!("GET {path}").into_bytes();
    line.extend_from_slice(suffix);
    line.extend_from_slice(b" HTTP/1.1");
    head(&line, host, fields)
}

fn many_fields(count: usize, value_len: usize) -> String {
    (0..count).map(|i| format!("X-Filler-{i}: {}\r\n", "v".repeat(value_len))).collect()
}

/// Every request shape the HTTP layer refuses that carries a path: what to send for `path`,
/// and the status it must get.
fn refused_shapes(host: &str, path: &str) -> Vec<(&'static str, Vec<u8>, u16)> {
    vec![
        ("a raw 0x01 byte in the target", get(host, path, b"/a\x01b", ""), 400),
        ("a raw DEL byte in the target", get(host, path, b"/a\x7fb", ""), 400),
        ("a raw tab in the target", get(host, path, b"/a\tb", ""), 400),
        ("raw UTF-8 bytes in the target", get(host, path, "/café-🦀".as_bytes(), ""), 400),
        ("a space in the target", get(host, path, b"/a b", ""), 400),
        ("spaces in the target", get(host, path, b"?q=a b c", ""), 400),
        ("a bad byte in an absolute-form target", head(format!("GET http://{host}{path}/a\x01b HTTP/1.1").as_bytes(), host, ""), 400),
        ("a 20 KiB target", get(host, path, format!("/{}", "a".repeat(20 * 1024)).as_bytes(), ""), 414),
        ("100 header fields of 1 KiB", get(host, path, b"", &many_fields(100, 1024)), 431),
        ("101 header fields", get(host, path, b"", &many_fields(101, 4)), 431),
        ("a header name with a space", get(host, path, b"", "Bad Name: v\r\n"), 400),
        ("whitespace before a header colon", get(host, path, b"", "X-Name : v\r\n"), 400),
        ("a control byte in a header value", get(host, path, b"", "X-Name: a\x01b\r\n"), 400),
        ("obsolete line folding", get(host, path, b"", "X-Name: a\r\n  b\r\n"), 400),
        ("a bare CR in the head", get(host, path, b"", "X-Name: a\rb\r\n"), 400),
        ("an invalid Content-Length", head(format!("POST {path} HTTP/1.1").as_bytes(), host, "Content-Length: 1x\r\n"), 400),
        ("conflicting Content-Lengths", head(format!("POST {path} HTTP/1.1").as_bytes(), host, "Content-Length: 1\r\nContent-Length: 2\r\n"), 400),
        ("a Transfer-Encoding that does not end in chunked", head(format!("POST {path} HTTP/1.1").as_bytes(), host, "Transfer-Encoding: gzip\r\n"), 400),
        ("an unsupported HTTP version", head(format!("GET {path} HTTP/1.2").as_bytes(), host, ""), 400),
    ]
}

/// Request lines too broken to name a path: problem+json.
fn garbage() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a TLS ClientHello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\x00\x00\x00".to_vec()),
        ("a method and nothing else", b"GARBAGE\r\n\r\n".to_vec()),
        ("a method that is not a token", b"G(E)T / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("an HTTP/0.9 request line", b"GET\t/\r\n\r\n".to_vec()),
        ("an empty target", b"GET  HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("the HTTP/2 connection preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec()),
        ("binary noise", vec![0u8, 255, 1, 254, 13, 10, 13, 10]),
    ]
}

/// Sends `request` on a new connection; the response, and whether the server then closed.
fn exchange(server: &Server, request: &[u8]) -> (RawResponse, bool) {
    let mut stream = server.connect(Duration::from_secs(5));
    stream.write_all(request).unwrap();
    let response = read_response(&mut stream).unwrap_or_else(|e| panic!("no response to {:?}: {e}", preview(request)));
    (response, closes(&mut stream))
}

/// Whether the peer closes the connection within a few seconds without sending more.
fn closes(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => rest.is_empty(),
        Err(e) => e.kind() == ErrorKind::ConnectionReset && rest.is_empty(),
    }
}

fn preview(request: &[u8]) -> String {
    let text = String::from_utf8_lossy(&request[..request.len().min(80)]).into_owned();
    format!("{text}… ({} bytes)", request.len())
}

/// Checks a refusal: the status, a complete JSON body in `format`, its content type, a
/// correlation id, and `connection: close`.
fn assert_refusal(what: &str, response: &RawResponse, status: u16, format: Format, path: &str) {
    assert_eq!(response.status, status, "{what} under {path}: {response:?}");
    let content_type = response.header("content-type").unwrap_or_default();
    let want_type = if matches!(format, Format::Simple | Format::Puppet | Format::Envelope) { "application/json" } else { "application/problem+json" };
    assert_eq!(content_type, want_type, "{what} under {path}: {}", response.head);
    assert_eq!(response.header("content-length").and_then(|n| n.parse().ok()), Some(response.body.len()), "{what}: {}", response.head);
    assert_eq!(response.header("connection"), Some("close"), "{what} under {path}: {}", response.head);
    let id = response.header("x-correlation-id").unwrap_or_default();
    assert!(!id.is_empty(), "{what} under {path}: no correlation id: {}", response.head);
    let v: Value = serde_json::from_str(&response.body).unwrap_or_else(|_| panic!("{what} under {path}: not JSON: {response:?}"));
    assert!(response.body.len() < 4096, "{what}: the body echoes too much: {} bytes", response.body.len());
    let ok = match format {
        Format::Simple => v.as_object().is_some_and(|o| o.len() == 1) && v["error"].as_str().is_some_and(|m| !m.is_empty()),
        Format::Puppet => {
            v["error"].as_str().is_some_and(|m| !m.is_empty()) && v["code"].is_string() && v["details"]["timestamp"].is_string() && v.as_object().is_some_and(|o| o.len() == 3)
        }
        Format::Tenant => {
            let type_ok = if status == 400 { v["type"] == "https://tools.ietf.org/html/rfc7231#section-6.5.1" } else { v["type"].as_str().is_some_and(|t| t.starts_with("https://tools.ietf.org/html/rfc")) };
            type_ok && v["title"].is_string() && v["status"] == status && v["detail"].is_string() && v.get("instance").is_none()
        }
        Format::Problem => {
            v["type"] == "about:blank" && v["title"].is_string() && v["status"] == status && v["detail"].is_string() && v["correlation_id"] == id && v["instance"].is_string()
        }
        Format::Acme => {
            let type_ok = v["type"].as_str().is_some_and(|t| t.starts_with("urn:ietf:params:acme:error:"));
            type_ok && v["status"] == status && v["detail"].is_string() && v.as_object().is_some_and(|o| o.len() == 3)
        }
        Format::Envelope => {
            let error = &v["error"];
            let shape = v.as_object().is_some_and(|o| o.len() == 4) && v["success"] == false && v["correlation_id"] == id && v["timestamp"].is_string();
            shape && error["code"].is_string() && error["message"].as_str().is_some_and(|m| !m.is_empty()) && error["retryable"].is_boolean()
        }
    };
    assert!(ok, "{what} under {path}: {status} not in the {format:?} format: {v}");
    if format == Format::Problem && path.starts_with('/') {
        assert!(v["instance"].as_str().unwrap().starts_with(path), "{what}: instance {} is not the path {path}", v["instance"]);
    }
}

#[test]
fn requests_refused_before_routing_get_a_body_in_the_format_of_the_group_owning_the_path() {
    let (server, _dir) = start();
    let host = server.addr().to_owned();
    for (path, format) in GROUPS {
        for (what, request, status) in refused_shapes(&host, path) {
            let (response, closed) = exchange(&server, &request);
            assert_refusal(what, &response, status, format, path);
            assert!(closed, "{what} under {path}: the connection stayed open after the refusal");
        }
    }
    let stopped = server.stop();
    assert!(!stopped.stderr.contains("panicked"), "serve panicked: {}", stopped.stderr);
}

#[test]
fn request_lines_too_broken_to_name_a_path_get_problem_json() {
    let (server, _dir) = start();
    for (what, request) in garbage() {
        let (response, closed) = exchange(&server, &request);
        assert_refusal(what, &response, 400, Format::Problem, "");
        assert!(closed, "{what}: the connection stayed open after the refusal");
    }
}

#[test]
fn a_refusal_arrives_even_when_the_client_sends_far_more_than_the_limit_first() {
    let (server, _dir) = start();
    let host = server.addr().to_owned();
    let huge_head = get(&host, "/api/v1/ca/status", b"", &many_fields(400, 1024));
    let huge_target = get(&host, "/provision/tenants/x", format!("/{}", "a".repeat(400 * 1024)).as_bytes(), "");
    for (request, status, format, path) in [(huge_head, 431, Format::Puppet, "/api/v1/ca/status"), (huge_target, 414, Format::Tenant, "/provision/tenants/x")] {
        let mut stream = server.connect(Duration::from_secs(5));
        let writer = {
            let mut stream = stream.try_clone().unwrap();
            std::thread::spawn(move || stream.write_all(&request).is_ok())
        };
        let response = read_response(&mut stream).unwrap_or_else(|e| panic!("{path}: no response: {e}"));
        assert_refusal("an oversized head", &response, status, format, path);
        assert!(writer.join().unwrap(), "{path}: the server reset the connection before the client finished sending");
        assert!(closes(&mut stream), "{path}: still open");
    }
}

#[test]
fn requests_within_the_limits_are_routed_as_before() {
    let (server, _dir) = start();
    let host = server.addr().to_owned();
    let long_target = format!("/other/{}", "a".repeat(8000));
    let cases = [
        ("an 8000-byte target", get(&host, &long_target, b"", ""), 404),
        ("100 header fields", get(&host, "/health", b"", &many_fields(99, 100)), 200),
        ("a 15 KiB header block", get(&host, "/health", b"", &many_fields(15, 1000)), 200),
        ("percent-encoded bytes", get(&host, "/other/caf%C3%A9%20%01%7F", b"", ""), 404),
        ("leading empty lines", [b"\r\n\r\n".as_slice(), &get(&host, "/health", b"", "")].concat(), 200),
        ("bare LF line ends", format!("GET /health HTTP/1.1\nHost: {host}\nX-A: b\n\n").into_bytes(), 200),
        ("an HTTP/1.0 request", b"GET /health HTTP/1.0\r\n\r\n".to_vec(), 200),
        ("an obs-text header value", [format!("GET /health HTTP/1.1\r\nHost: {host}\r\n").as_bytes(), b"X-Latin: caf\xe9\r\n\r\n"].concat(), 200),
    ];
    for (what, request, status) in cases {
        let mut stream = server.connect(Duration::from_secs(5));
        stream.write_all(&request).unwrap();
        let response = read_response(&mut stream).unwrap_or_else(|e| panic!("{what}: no response: {e}"));
        assert_eq!(response.status, status, "{what}: {response:?}");
        if !what.contains("HTTP/1.0") {
            assert_ne!(response.header("connection"), Some("close"), "{what}: {}", response.head);
        }
    }
}

#[test]
fn a_keep_alive_connection_serves_requests_with_bodies_and_then_refuses_a_bad_one_in_its_groups_format() {
    let (server, _dir) = start();
    let host = server.addr().to_owned();
    let mut stream = server.connect(Duration::from_secs(5));
    let health = get(&host, "/health", b"", "");
    for _ in 0..3 {
        stream.write_all(&health).unwrap();
        let response = read_response(&mut stream).unwrap();
        assert_eq!((response.status, response.json()["status"].as_str()), (200, Some("ok")), "{response:?}");
    }
    // A body that looks like a bad request head is a body: the group answers it, not the head check.
    let decoy = "GET /a\x01 HTTP/1.1\r\nBad Name: x\r\n\r\n";
    stream.write_all(&head(b"POST /provision/tenants/init HTTP/1.1", &host, &format!("Content-Type: application/json\r\nContent-Length: {}\r\n", decoy.len()))).unwrap();
    stream.write_all(decoy.as_bytes()).unwrap();
    let response = read_response(&mut stream).unwrap();
    assert_eq!(response.status, 400, "{response:?}");
    assert_ne!(response.header("connection"), Some("close"), "{}", response.head);
    assert!(!response.json()["detail"].as_str().unwrap_or_default().contains("request target"), "{response:?}");
    // A body that takes many reads.
    let big = format!(r#"{{"name":"Acme Corporation","slug":"acme-big","plan":"Basic"}}{}"#, " ".repeat(300 * 1024));
    stream.write_all(&head(b"POST /provision/tenants/init HTTP/1.1", &host, &format!("Content-Type: application/json\r\nContent-Length: {}\r\n", big.len()))).unwrap();
    stream.write_all(big.as_bytes()).unwrap();
    let response = read_response(&mut stream).unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    // A chunked body, with an extension and a trailer, then a request pipelined behind it.
    let body = r#"{"name":"Acme Corporation","slug":"acme-chunked","plan":"Basic"}"#;
    let (a, b) = body.split_at(20);
    let chunked = format!("{:x};ext=1\r\n{a}\r\n{:X}\r\n{b}\r\n0\r\nX-Trailer: t\r\n\r\n", a.len(), b.len());
    let mut pipelined = head(b"POST /provision/tenants/init HTTP/1.1", &host, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n");
    pipelined.extend_from_slice(chunked.as_bytes());
    pipelined.extend_from_slice(&health);
    stream.write_all(&pipelined).unwrap();
    let mut ahead = Vec::new();
    let response = read_pipelined_response(&mut stream, &mut ahead).unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.json()["confirmToken"].is_string(), "{response:?}");
    assert_eq!(read_pipelined_response(&mut stream, &mut ahead).unwrap().status, 200);
    // Then a good request pipelined with a bad one: the good one is answered first.
    let mut pair = health.clone();
    pair.extend_from_slice(&get(&host, "/api/v1/ca/sign/web01", "/é".as_bytes(), ""));
    stream.write_all(&pair).unwrap();
    assert_eq!(read_pipelined_response(&mut stream, &mut ahead).unwrap().status, 200);
    let refused = read_pipelined_response(&mut stream, &mut ahead).unwrap();
    assert!(ahead.is_empty(), "bytes after the refusal: {:?}", String::from_utf8_lossy(&ahead));
    assert_refusal("raw UTF-8 on a keep-alive connection", &refused, 400, Format::Puppet, "/api/v1/ca/sign/web01");
    assert!(closes(&mut stream), "the connection stayed open after the refusal");
}

#[test]
fn later_requests_on_a_keep_alive_connection_are_checked_like_the_first() {
    let (server, _dir) = start();
    let host = server.addr().to_owned();
    for (path, format) in GROUPS {
        for (what, request, status) in refused_shapes(&host, path) {
            let mut stream = server.connect(Duration::from_secs(5));
            stream.write_all(&get(&host, "/health", b"", "")).unwrap();
            assert_eq!(read_response(&mut stream).unwrap().status, 200);
            stream.write_all(&request).unwrap();
            let response = read_response(&mut stream).unwrap_or_else(|e| panic!("{what} under {path}: no response: {e}"));
            assert_refusal(what, &response, status, format, path);
            assert!(closes(&mut stream), "{what} under {path}: still open");
        }
    }
}

#[test]
fn a_head_request_refused_before_routing_gets_headers_only() {
    let (server, _dir) = start();
    let host = server.addr().to_owned();
    let mut stream = server.connect(Duration::from_secs(5));
    stream.write_all(&head(b"HEAD /api/v1/provision-keys/a\x01 HTTP/1.1", &host, "")).unwrap();
    let started = Instant::now();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    assert!(started.elapsed() < Duration::from_secs(4), "the connection stayed open");
    let text = String::from_utf8_lossy(&raw);
    let (response_head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no response: {text:?}"));
    assert!(response_head.starts_with("HTTP/1.1 400 "), "{text:?}");
    assert!(response_head.to_ascii_lowercase().contains("\r\ncontent-type: application/json"), "{text:?}");
    assert!(response_head.to_ascii_lowercase().contains("\r\nconnection: close"), "{text:?}");
    assert!(body.is_empty(), "a HEAD response has no body: {text:?}");
}

#[test]
fn heads_arriving_a_few_bytes_at_a_time_are_checked_the_same() {
    let (server, _dir) = start();
    let host = server.addr().to_owned();
    let trickle = |request: &[u8]| {
        let mut stream = server.connect(Duration::from_secs(5));
        stream.set_nodelay(true).unwrap();
        for piece in request.chunks(3) {
            stream.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        read_response(&mut stream).unwrap_or_else(|e| panic!("no response to {:?}: {e}", preview(request)))
    };
    let response = trickle(&get(&host, "/health", b"", "X-A: b\r\n"));
    assert_eq!(response.status, 200, "{response:?}");
    let path = "/provision/tenants/t1/status";
    let response = trickle(&get(&host, path, b"/a\x01b", ""));
    assert_refusal("a control byte arriving late", &response, 400, Format::Tenant, path);
    let response = trickle(&get(&host, path, b"", "X-Bad: a\x00\r\n"));
    assert_refusal("a NUL in a header arriving late", &response, 400, Format::Tenant, path);
}
