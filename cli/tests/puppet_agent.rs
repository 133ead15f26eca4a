//! A real Puppet agent (Debian's `puppet-agent`, installed by infra/test.sh) against
//! `trustplane serve --tls`: it downloads the CA chain and CRLs, verifies the server as
//! `localhost` against them (`certificate_revocation = chain`), submits its CSR, waits for the
//! admin API to sign it, fetches its certificate, and is refused once revoked.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `serve --tls` on a free loopback port, reached as `localhost`.
struct TlsServer {
    child: Child,
    port: u16,
    data_dir: PathBuf,
    ca_bundle: PathBuf,
}

impl TlsServer {
    /// Starts on a free port with its data under `dir` (choosing again when another test
    /// takes the port first).
    fn start(dir: &Path, env: &[(&str, &str)]) -> TlsServer {
        for _ in 0..10 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            if let Some(server) = Self::try_start_on(dir, port, env) {
                return server;
            }
        }
        panic!("serve --tls found no free loopback port in 10 tries");
    }

    fn start_on(dir: &Path, port: u16, env: &[(&str, &str)]) -> TlsServer {
        Self::try_start_on(dir, port, env).unwrap_or_else(|| panic!("port {port} must be free"))
    }

    fn try_start_on(dir: &Path, port: u16, env: &[(&str, &str)]) -> Option<TlsServer> {
        std::net::TcpListener::bind(("127.0.0.1", port)).ok()?;
        let data_dir = dir.join("data");
        let child = Command::new(env!("CARGO_BIN_EXE_trustplane"))
            .args(["serve", "--tls", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(&data_dir)
            .env_remove("TRUSTPLANE_BACKEND")
            .env("LOG_FORMAT", "text")
            .env("PUBLIC_BASE_URL", format!("https://localhost:{port}"))
            .envs(env.iter().copied())
            .stdout(Stdio::from(std::fs::File::create(dir.join("stdout")).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(dir.join("stderr")).unwrap()))
            .spawn()
            .expect("spawn trustplane serve --tls");
        let ca_bundle = dir.join("ca.pem");
        let mut server = TlsServer { child, port, data_dir, ca_bundle };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if server.child.try_wait().unwrap().is_some() {
                let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
                assert!(stderr.contains("binding"), "serve --tls exited at start: {stderr}");
                return None;
            }
            if server.curl(&["-k", "-o", server.ca_bundle.to_str().unwrap(), "/puppet-ca/v1/certificate/ca"]).0 == 200 {
                std::thread::sleep(Duration::from_millis(50));
                if server.child.try_wait().unwrap().is_none() {
                    return Some(server);
                }
            }
            assert!(Instant::now() < deadline, "serve --tls did not answer");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// curl with `args`, the last being the path; status and body.
    fn curl(&self, args: &[&str]) -> (u16, String) {
        let (path, rest) = args.split_last().unwrap();
        let out = Command::new("curl").args(["-s", "-w", "\n%{http_code}"]).args(rest).arg(self.url(path)).output().expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.parse().unwrap_or(0), body.to_owned())
    }

    /// An admin API call, verifying the server against the downloaded chain.
    fn admin(&self, method: &str, path: &str) -> (u16, String) {
        let key = std::fs::read_to_string(self.data_dir.join("admin-api-key")).unwrap();
        let header = format!("x-api-key: {}", key.trim());
        self.curl(&["--cacert", self.ca_bundle.to_str().unwrap(), "-X", method, "-H", &header, path])
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One node's isolated Puppet directories.
struct Agent {
    root: tempfile::TempDir,
    certname: String,
}

impl Agent {
    fn new(certname: &str) -> Agent {
        Agent { root: tempfile::tempdir().unwrap(), certname: certname.to_owned() }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn puppet(&self, server: &TlsServer, action: &str, extra: &[&str]) -> Output {
        let port = server.port.to_string();
        let mut command = Command::new("puppet");
        command.args(["ssl", action, "--certname", &self.certname, "--server", "localhost", "--serverport", &port, "--ca_port", &port]);
        // Debian's puppet keeps `ssldir` in /var/lib/puppet/ssl whatever the confdir: name it too.
        for (flag, dir) in [("--confdir", "conf"), ("--vardir", "var"), ("--ssldir", "ssl"), ("--logdir", "log"), ("--rundir", "run"), ("--codedir", "code")] {
            command.arg(flag).arg(self.dir(dir));
        }
        command.args(extra).env("HOME", self.root.path());
        command.output().expect("puppet is installed by infra/test.sh (Debian package puppet-agent)")
    }

    fn bootstrap(&self, server: &TlsServer, extra: &[&str]) -> Output {
        let mut args = vec!["--waitforcert", "0"];
        args.extend_from_slice(extra);
        self.puppet(server, "bootstrap", &args)
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn pem_count(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap_or_default().matches("BEGIN CERTIFICATE").count()
}

#[test]
fn a_puppet_agent_enrols_over_tls_once_the_admin_api_signs_and_is_refused_once_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TlsServer::start(dir.path(), &[]);
    let agent = Agent::new("node1.example.com");
    let first = agent.bootstrap(&server, &[]);
    assert!(!first.status.success(), "the first run must wait for signing: {}", text(&first));
    assert!(text(&first).contains("has not been signed yet"), "{}", text(&first));
    assert_eq!(pem_count(&server.ca_bundle), 2, "the CA chain: issuing CA and root");

    let (status, body) = server.admin("POST", "/api/v1/ca/sign/node1.example.com");
    assert_eq!(status, 200, "{body}");
    let second = agent.bootstrap(&server, &[]);
    assert!(second.status.success(), "the second run gets the certificate: {}", text(&second));
    assert!(text(&second).contains("Downloaded certificate for node1.example.com"), "{}", text(&second));
    let verified = agent.puppet(&server, "verify", &[]);
    assert!(verified.status.success(), "{}", text(&verified));

    let (status, body) = server.admin("DELETE", "/api/v1/ca/certificates/node1.example.com");
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let refreshed = agent.bootstrap(&server, &["--crl_refresh_interval", "1s"]);
        if text(&refreshed).contains("is revoked") {
            assert!(!refreshed.status.success());
            break;
        }
        assert!(Instant::now() < deadline, "the agent never saw its revocation: {}", text(&refreshed));
        std::thread::sleep(Duration::from_secs(1));
    }
    let refused = agent.puppet(&server, "verify", &[]);
    assert!(!refused.status.success() && text(&refused).contains("is revoked"), "{}", text(&refused));
}

/// The SHA-256 fingerprint of a PEM certificate's public key, and its serial.
fn key_and_serial(pem: &Path) -> (String, String) {
    let key = Command::new("sh").arg("-c").arg(format!("openssl x509 -in {} -noout -pubkey | openssl sha256", pem.display())).output().unwrap();
    let serial = Command::new("openssl").args(["x509", "-noout", "-serial", "-in"]).arg(pem).output().unwrap();
    (String::from_utf8_lossy(&key.stdout).into_owned(), String::from_utf8_lossy(&serial.stdout).into_owned())
}

#[test]
fn an_agent_renews_its_certificate_over_mutual_tls_with_the_same_key_and_only_its_current_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = TlsServer::start(dir.path(), &[("PUPPET_AUTOSIGN", "*.fleet.example.com")]);
    let agent = Agent::new("db01.fleet.example.com");
    let run = agent.bootstrap(&server, &[]);
    assert!(run.status.success(), "{}", text(&run));
    let cert = agent.dir("ssl/certs/db01.fleet.example.com.pem");
    let key = agent.dir("ssl/private_keys/db01.fleet.example.com.pem");
    let cacert = server.ca_bundle.to_str().unwrap().to_owned();
    let renew = |cert: &Path| {
        server.curl(&["--cacert", &cacert, "--cert", cert.to_str().unwrap(), "--key", key.to_str().unwrap(), "-X", "POST", "/puppet-ca/v1/certificate_renewal"])
    };
    let (status, body) = server.curl(&["--cacert", &cacert, "-X", "POST", "/puppet-ca/v1/certificate_renewal"]);
    assert_eq!(status, 401, "no client certificate: {body}");
    let (status, renewed) = renew(&cert);
    assert_eq!(status, 200, "{renewed}");
    let renewed_path = dir.path().join("renewed.pem");
    std::fs::write(&renewed_path, &renewed).unwrap();
    let (old_key, old_serial) = key_and_serial(&cert);
    let (new_key, new_serial) = key_and_serial(&renewed_path);
    assert_eq!(old_key, new_key, "the same key is certified again");
    assert_ne!(old_serial, new_serial, "a new certificate");
    let verify = Command::new("openssl").args(["verify", "-CAfile", &cacert]).arg(&renewed_path).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let (status, body) = renew(&cert);
    assert_eq!(status, 403, "the superseded certificate cannot renew again: {body}");
    let (status, _) = renew(&renewed_path);
    assert_eq!(status, 200, "the current one can");
}

#[test]
fn with_a_matching_autosign_glob_one_puppet_run_gets_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let server = TlsServer::start(dir.path(), &[("PUPPET_AUTOSIGN", "*.fleet.example.com")]);
    let agent = Agent::new("web01.fleet.example.com");
    let run = agent.bootstrap(&server, &[]);
    assert!(run.status.success(), "{}", text(&run));
    let other = Agent::new("intruder.example.org");
    assert!(!other.bootstrap(&server, &[]).status.success(), "a certname outside the glob is not autosigned");
}

#[test]
fn serve_tls_issues_itself_a_certificate_for_localhost_and_its_address_and_keeps_it_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = TlsServer::start(dir.path(), &[]);
    let (cert, key) = (server.data_dir.join("tls/server.crt"), server.data_dir.join("tls/server.key"));
    let out = Command::new("openssl").args(["x509", "-noout", "-ext", "subjectAltName,extendedKeyUsage", "-in"]).arg(&cert).output().unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(printed.contains("DNS:localhost") && printed.contains("IP Address:127.0.0.1"), "{printed}");
    assert!(printed.contains("TLS Web Server Authentication"), "{printed}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let verify = Command::new("openssl").args(["verify", "-CAfile"]).arg(&server.ca_bundle).arg(&cert).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let plain = Command::new("curl").args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &format!("http://127.0.0.1:{}/health", server.port)]).output().unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200", "plain HTTP is not served next to HTTPS");
    let before = std::fs::read(&cert).unwrap();
    let port = server.port;
    drop(server);
    let restarted = TlsServer::start_on(dir.path(), port, &[]);
    assert_eq!(std::fs::read(&cert).unwrap(), before, "the stored certificate was reused, not reissued");
    let (status, _) = restarted.curl(&["--cacert", restarted.ca_bundle.to_str().unwrap(), "/health"]);
    assert_eq!(status, 200, "the restarted server verifies against the same chain");
}
