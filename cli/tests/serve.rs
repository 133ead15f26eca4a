//! End-to-end: the real `trustplane serve` binary, driven with curl.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(data_dir: &Path) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_trustplane"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .env("LOG_FORMAT", "text")
        .env_remove("TRUSTPLANE_BACKEND")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn trustplane serve");
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    while curl(&server, &["/health"]).0 != 200 {
        assert!(Instant::now() < deadline, "serve did not answer /health");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// SIGTERM, then the exit status and everything printed on stdout.
fn stop(mut server: Server) -> (std::process::ExitStatus, String) {
    Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    let status = server.child.wait().unwrap();
    let mut out = String::new();
    server.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    (status, out)
}

/// `curl` with `args` (the first is the path); returns status and body.
fn curl(server: &Server, args: &[&str]) -> (u16, String) {
    let url = format!("{}{}", server.base, args[0]);
    let out = Command::new("curl").args(["-s", "-w", "\n%{http_code}", &url]).args(&args[1..]).output().expect("curl");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.parse().unwrap_or(0), body.to_owned())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

fn create_key(server: &Server, admin: &str, scopes: &str) -> String {
    let body = format!(r#"{{"name":"e2e","scopes":{scopes}}}"#);
    let (code, reply) = curl(server, &["/api/v1/api-keys", "-H", &format!("x-api-key: {admin}"), "-H", "content-type: application/json", "-d", &body]);
    assert_eq!(code, 201, "{reply}");
    json(&reply)["key"].as_str().unwrap().to_owned()
}

#[test]
fn serve_keeps_minted_keys_across_a_restart_and_answers_401_and_403() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let key_file = dir.path().join("admin-api-key");
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    let admin = std::fs::read_to_string(&key_file).unwrap().trim().to_owned();
    let ops = create_key(&server, &admin, r#"["admin"]"#);
    let reader = create_key(&server, &admin, r#"["ca:read"]"#);
    let (status, first_out) = stop(server);
    assert!(status.success(), "serve did not shut down cleanly on SIGTERM: {status}");
    assert!(first_out.contains(&admin), "the first admin key is printed once on first start");

    let server = start(dir.path());
    let (code, body) = curl(&server, &["/api/v1/api-keys", "-H", &format!("x-api-key: {ops}")]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["data"].as_array().unwrap().len(), 3);
    let (code, body) = curl(&server, &["/api/v1/api-keys", "-H", &format!("x-api-key: {reader}")]);
    assert_eq!((code, json(&body)["status"].as_u64()), (403, Some(403)));
    let (code, _) = curl(&server, &["/api/v1/api-keys", "-H", "x-api-key: tp_not-a-key"]);
    assert_eq!(code, 401);
    let (status, second_out) = stop(server);
    assert!(status.success());
    assert!(!second_out.contains("tp_"), "a restart must not mint or print another admin key: {second_out}");
}

#[test]
fn serve_health_reports_ok_and_a_correlation_id_header() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let (code, body) = curl(&server, &["/health"]);
    assert_eq!((code, json(&body)["status"].as_str()), (200, Some("ok")));
    let (_, headers) = curl(&server, &["/health", "-D", "-", "-o", "/dev/null"]);
    assert!(headers.to_ascii_lowercase().contains("x-correlation-id:"), "{headers}");
    let (code, body) = curl(&server, &["/crl/unknown.crl"]);
    assert_eq!((code, json(&body)["status"].as_u64()), (404, Some(404)));
    stop(server);
}
