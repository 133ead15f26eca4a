//! Seed 000's log lines, read from a real `trustplane serve`'s output.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn curl_json(url: &str, key: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-w", "\n%{http_code}", "-H", "content-type: application/json", "-d", body, url]);
    if let Some(key) = key {
        cmd.args(["-H", &format!("x-api-key: {key}")]);
    }
    let text = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), serde_json::from_str(body).unwrap_or_default())
}

#[test]
fn provisioning_logs_the_seed_lines_and_only_the_first_eight_key_characters() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trustplane"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Command::new("curl").args(["-sf", "-o", "/dev/null", &format!("{base}/health")]).status().map(|s| !s.success()).unwrap_or(true) {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let admin = std::fs::read_to_string(dir.path().join("admin-api-key")).unwrap().trim().to_owned();
    let (_, created) = curl_json(&format!("{base}/api/v1/provision-keys"), Some(&admin), r#"{"agent_id":"agent-log","ttl_seconds":600}"#);
    let key = created["provision_key"].as_str().unwrap().to_owned();
    let wrong = format!("{key}x");
    assert_eq!(curl_json(&format!("{base}/api/v1/provision"), None, &format!(r#"{{"provision_key":"{wrong}","csr":"x"}}"#)).0, 401);
    assert_eq!(curl_json(&format!("{base}/api/v1/provision"), None, &format!(r#"{{"provision_key":"{key}","csr":"not a csr"}}"#)).0, 400);
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
    let mut logs = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    let lines: Vec<serde_json::Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty(), "no JSON log lines in: {logs}");
    let warn = lines.iter().find(|l| l["message"] == "provision attempt with invalid key").expect("WARN line");
    assert_eq!((warn["level"].as_str(), warn["key_prefix"].as_str()), (Some("WARN"), Some(&wrong[..8])));
    let error = lines.iter().find(|l| l["message"] == "CSR signing failed").expect("ERROR line");
    assert_eq!((error["level"].as_str(), error["agent_id"].as_str()), (Some("ERROR"), Some("agent-log")));
    assert!(!logs.contains(&key[8..]), "a provision key leaked into the logs");
}
