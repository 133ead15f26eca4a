//! End-to-end: `trustplane provision` against a real `trustplane serve`, checked with openssl.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::Server;

/// Mints a provision key for `agent_id` with the first admin key.
fn mint_provision_key(server: &Server, agent_id: &str) -> String {
    let admin = server.admin_key();
    let body = format!(r#"{{"agent_id":"{agent_id}","ttl_seconds":600}}"#);
    let headers = ["-H", &format!("x-api-key: {admin}"), "-H", "content-type: application/json"];
    let (code, reply) = server.curl(&[&["/api/v1/provision-keys"], &headers[..], &["-d", &body]].concat());
    assert_eq!(code, 201, "minting a provision key: {reply}");
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap_or_else(|_| panic!("not JSON: {reply}"));
    assert_eq!(reply["agent_id"], agent_id, "{reply}");
    let key = reply["provision_key"].as_str().unwrap_or_else(|| panic!("no provision_key: {reply}")).to_owned();
    assert!(key.starts_with("sk_"), "{key}");
    key
}

/// Runs `trustplane provision` with `args`, with the environment fallbacks cleared.
fn provision(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustplane"))
        .arg("provision")
        .args(args)
        .arg("--out")
        .arg(out)
        .env_remove("TRUSTPLANE_SERVER")
        .env_remove("TRUSTPLANE_PROVISION_KEY")
        .output()
        .expect("run trustplane provision")
}

/// openssl's stdout, asserting it succeeded.
fn openssl(args: &[&str], dir: &Path) -> String {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts `dir` holds a usable identity for `agent_id`: key 0600, chain verifies, CN and key match.
fn assert_provisioned(dir: &Path, agent_id: &str) {
    for name in ["agent.key", "agent.crt", "ca.crt"] {
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    assert_eq!(std::fs::metadata(dir.join("agent.key")).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(dir.join("agent.key")).unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(openssl(&["verify", "-CAfile", "ca.crt", "agent.crt"], dir).trim(), "agent.crt: OK");
    let subject = openssl(&["x509", "-in", "agent.crt", "-noout", "-subject"], dir).replace(' ', "");
    let subject = subject.trim().trim_start_matches("subject=");
    assert!(subject.split([',', '/']).any(|rdn| rdn == format!("CN={agent_id}")), "subject {subject}");
    let key_pub = openssl(&["pkey", "-in", "agent.key", "-pubout"], dir);
    let cert_pub = openssl(&["x509", "-in", "agent.crt", "-pubkey", "-noout"], dir);
    assert_eq!(key_pub, cert_pub, "the certificate is not for the key generated on the agent");
}

#[test]
fn an_agent_provisions_itself_once_and_the_same_provision_key_is_refused_the_second_time() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let key = mint_provision_key(&server, "agent-5");
    let work = tempfile::tempdir().unwrap();
    let first = work.path().join("first");
    let out = provision(&["--server", &server.base, "--key", &key], &first);
    assert!(out.status.success(), "provision failed: {}", stderr(&out));
    assert_provisioned(&first, "agent-5");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("agent-5") && stdout.contains(&first.join("agent.key").display().to_string()), "{stdout}");
    assert_eq!(std::fs::metadata(&first).unwrap().permissions().mode() & 0o777, 0o700);

    let second = work.path().join("second");
    let out = provision(&["--server", &server.base, "--key", &key], &second);
    assert!(!out.status.success(), "a used provision key must not provision again");
    assert!(stderr(&out).contains("provision failed (HTTP 401): provision key already used"), "{}", stderr(&out));
    assert!(!second.join("agent.key").exists(), "a refused run leaves no key behind");
}

#[test]
fn the_server_accepts_every_agent_key_type_and_force_replaces_an_existing_identity() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let dir = tempfile::tempdir().unwrap();
    for (agent, kind) in [("agent-p384", "ec-p384"), ("agent-rsa", "rsa-2048")] {
        let key = mint_provision_key(&server, agent);
        let out = provision(&["--server", &server.base, "--key", &key, "--agent-key-type", kind, "--force"], dir.path());
        assert!(out.status.success(), "{kind}: {}", stderr(&out));
        assert_provisioned(dir.path(), agent);
    }
}

#[test]
fn provision_against_a_closed_port_says_it_could_not_reach_the_full_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let out = provision(&["--server", &format!("http://127.0.0.1:{port}"), "--key", "sk_unused"], &dir.path().join("tls"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("could not reach http://127.0.0.1:{port}/api/v1/provision")), "{}", stderr(&out));
    assert!(!dir.path().join("tls").join("agent.key").exists(), "nothing is written when the server is unreachable");
}

#[test]
fn provision_refuses_to_overwrite_existing_files_without_force_before_contacting_the_server() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.crt"), "existing").unwrap();
    let out = provision(&["--server", &format!("http://127.0.0.1:{port}"), "--key", "sk_unused"], dir.path());
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("refusing to overwrite") && err.contains(&dir.path().join("agent.crt").display().to_string()), "{err}");
    assert!(!err.contains("could not reach"), "the refusal comes before any network call: {err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("agent.crt")).unwrap(), "existing");
    assert!(!dir.path().join("agent.key").exists(), "no key is generated or written");
}

#[test]
fn a_malformed_server_url_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = provision(&["--server", "pki.example.com:8080", "--key", "sk_unused"], dir.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains(r#"invalid --server URL "pki.example.com:8080""#), "{}", stderr(&out));
}

#[test]
fn the_key_can_come_from_stdin_so_it_never_shows_in_the_process_list() {
    use std::io::Write;
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let key = mint_provision_key(&server, "agent-stdin");
    let out_dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trustplane"))
        .args(["provision", "--server", &server.base, "--key-file", "-", "--out"])
        .arg(out_dir.path())
        .env_remove("TRUSTPLANE_PROVISION_KEY")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{key}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_provisioned(out_dir.path(), "agent-stdin");
}

#[test]
fn plain_http_to_another_machine_is_refused_before_the_key_is_sent_unless_insecure() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = provision(&["--server", "http://192.0.2.10:8080", "--key", "sk_never_sent"], out_dir.path());
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("refusing to send a provision key over plain http") && text.contains("--insecure"), "{text}");
    assert!(!text.contains("could not reach"), "nothing was sent: {text}");
    assert!(std::fs::read_dir(out_dir.path()).unwrap().next().is_none(), "nothing was written");
}
