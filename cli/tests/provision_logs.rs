//! Seed 000's log lines, read from a real `trustplane serve`'s JSON logs.

mod common;

use common::Server;
use serde_json::json;

#[test]
fn provisioning_logs_the_seed_lines_and_only_the_first_eight_key_characters() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("LOG_FORMAT", "json")]);
    let admin = server.admin_key();
    let (_, created) = server.post_json("/api/v1/provision-keys", Some(&admin), &json!({ "agent_id": "agent-log", "ttl_seconds": 600 }));
    let key = created["provision_key"].as_str().unwrap().to_owned();
    let wrong = format!("{key}x");
    assert_eq!(server.post_json("/api/v1/provision", None, &json!({ "provision_key": wrong, "csr": "x" })).0, 401);
    assert_eq!(server.post_json("/api/v1/provision", None, &json!({ "provision_key": key, "csr": "not a csr" })).0, 400);
    let logs = server.stop().stderr;
    let lines: Vec<serde_json::Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty(), "no JSON log lines in: {logs}");
    let warn = lines.iter().find(|l| l["message"] == "provision attempt with invalid key").expect("WARN line");
    assert_eq!((warn["level"].as_str(), warn["key_prefix"].as_str()), (Some("WARN"), Some(&wrong[..8])));
    let error = lines.iter().find(|l| l["message"] == "CSR signing failed").expect("ERROR line");
    assert_eq!((error["level"].as_str(), error["agent_id"].as_str()), (Some("ERROR"), Some("agent-log")));
    assert!(!logs.contains(&key[8..]), "a provision key leaked into the logs");
}
