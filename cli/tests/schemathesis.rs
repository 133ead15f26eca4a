//! schemathesis (pinned in infra/requirements.txt, installed in infra/.venv by infra/test.sh)
//! against a real `trustplane serve`: every operation of the merged `GET /openapi.json`, with
//! the admin key, checked for server errors and for statuses, content types and bodies the
//! document does not declare (issue 11).

mod common;

use common::Server;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

fn schemathesis() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/.venv/bin/schemathesis");
    assert!(path.exists(), "{} is missing: run infra/test.sh, or infra/.venv/bin/python -m pip install -r infra/requirements.txt", path.display());
    path
}

/// Records for the operations' path parameters to find half the time (the other half are
/// generated): a subject, a root authority (also as the ACME server's `authorityId`) with an EAB
/// key and a certificate it issued, an allowlisted device in a batch session, a tenant; as a
/// `schemathesis.toml` of dictionaries.
fn seeded_config(server: &Server, key: &str) -> String {
    let created = |path: &str, body: serde_json::Value| {
        let (status, reply) = server.post_json(path, Some(key), &body);
        assert!((200..300).contains(&status), "POST {path}: {status} {reply}");
        reply
    };
    let subject = created("/api/v1/subjects", json!({ "commonName": "schemathesis.example" }))["id"].clone();
    let authority = created("/api/v1/authorities", json!({ "subjectId": subject, "type": "ROOT", "policy": { "allowLeafIssuance": true } }))["id"].clone();
    let issued = json!({ "subjectId": subject, "template": "TLS_SERVER", "san": { "dnsNames": ["schemathesis.example"] } });
    let certificate = created(&format!("/api/v1/issuers/{}/certificates", authority.as_str().unwrap()), issued)["id"].clone();
    let eab_key = created(&format!("/api/v1/authorities/{}/eab-keys", authority.as_str().unwrap()), json!({}))["keyId"].clone();
    created("/api/v1/provisioning/allowlist", json!({ "mac": "AA:BB:CC:DD:EE:01" }));
    let session = created("/api/v1/provisioning/batch/start", json!({ "target_ssid": "Schemathesis" }))["data"]["session"]["id"].clone();
    let tenant = created("/provision/tenants/init", json!({ "name": "Schemathesis", "slug": "schemathesis", "plan": "Basic" }))["provisioningId"].clone();
    let values = |items: &[&serde_json::Value]| serde_json::to_string(&items.iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>()).unwrap();
    format!(
        "[dictionaries.ids]\nvalues = {}\n[dictionaries.macs]\nvalues = [\"AA:BB:CC:DD:EE:01\"]\n[dictionaries.tenants]\nvalues = {}\n\
         [dictionaries.authorities]\nvalues = {}\n[dictionaries.eab_keys]\nvalues = {}\n\n\
         [parameters]\n\"path.id\" = {{ dictionary = \"ids\", probability = 0.5 }}\n\"path.mac\" = {{ dictionary = \"macs\", probability = 0.5 }}\n\
         \"path.provisioning_id\" = {{ dictionary = \"tenants\", probability = 0.5 }}\n\
         \"path.authorityId\" = {{ dictionary = \"authorities\", probability = 0.5 }}\n\"path.keyId\" = {{ dictionary = \"eab_keys\", probability = 0.5 }}\n",
        values(&[&subject, &authority, &certificate, &session, &tenant]),
        values(&[&tenant]),
        values(&[&authority]),
        values(&[&eab_key]),
    )
}

/// The number after `label` on a line of schemathesis' summary (`Tested: 83`).
fn summary_number(output: &str, label: &str) -> Option<usize> {
    output.lines().find_map(|line| line.trim().strip_prefix(label)).and_then(|rest| rest.trim().split('/').next()?.trim().parse().ok())
}

#[test]
fn schemathesis_finds_no_failure_in_any_operation_of_serve() {
    let tool = schemathesis();
    let dir = tempfile::tempdir().unwrap();
    let env = [("DEVICE_EVENTS_MAX_STREAM_SECS", "1"), ("DEVICES_RATE_PER_SEC", "100000"), ("DEVICES_RATE_BURST", "1000000")];
    let server = Server::start_with(dir.path(), &env);
    let documented: serde_json::Value = serde_json::from_str(&server.curl(&["/openapi.json"]).1).unwrap();
    let paths = documented["paths"].as_object().unwrap();
    let operations: usize = paths.iter().filter(|(path, _)| *path != "/openapi.json").map(|(_, item)| item.as_object().unwrap().len()).sum();
    let workdir = tempfile::tempdir().unwrap();
    let config = workdir.path().join("schemathesis.toml");
    std::fs::write(&config, seeded_config(&server, &server.admin_key())).unwrap();
    let (mut success, mut stdout, mut report) = run(&tool, workdir.path(), &config, &server);
    if !success && crashed(&report) {
        eprintln!("schemathesis itself crashed (not a finding); running it once more:\n{report}");
        (success, stdout, report) = run(&tool, workdir.path(), &config, &server);
    }
    eprintln!("{report}");
    assert!(success, "schemathesis found failures:\n{report}");
    assert_eq!(summary_number(&stdout, "Tested:"), Some(operations), "schemathesis tests every operation but the document itself:\n{report}");
    assert!(operations >= 80, "the merged document has only {operations} operations");
}

/// One schemathesis run over `server`'s document: whether it passed, its stdout, and its whole
/// report (stdout and stderr).
fn run(tool: &std::path::Path, workdir: &std::path::Path, config: &std::path::Path, server: &Server) -> (bool, String, String) {
    let out = Command::new(tool)
        .current_dir(workdir)
        .arg("--config-file")
        .arg(config)
        .args(["run", &format!("{}/openapi.json", server.base), "--checks", CHECKS])
        .args(["--max-examples", "10", "--seed", "1", "--request-timeout", "30", "--workers", "2"])
        .args(["--header", &format!("X-API-Key: {}", server.admin_key())])
        .args(["--output-truncate", "false"])
        .env("SCHEMATHESIS_HOOKS", PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis_hooks.py"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    (out.status.success(), stdout, report)
}

/// Whether a failed run is schemathesis' own crash (a Python traceback or an internal
/// `KeyError`) with no finding about the server: only such a run is repeated.
fn crashed(report: &str) -> bool {
    let internal = ["Traceback (most recent call last)", "KeyError", "internal error"].iter().any(|sign| report.contains(sign));
    internal && !report.contains("Failures:") && !report.contains("FAILURES")
}
