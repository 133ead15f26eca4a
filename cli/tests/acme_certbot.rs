//! A real ACME client (Debian's `certbot`, installed by infra/test.sh) against `trustplane
//! serve` over plain HTTP: with an EAB key from the admin API it obtains a certificate for a
//! name under `localhost` (validated with `http-01` on certbot's own standalone server),
//! renews it, and revokes it; the chain verifies with openssl up to the root, both
//! certificates are in the inventory with channel `acme`, the revoked one on the CRL, and a
//! name outside the authority's policy is refused.

mod common;

use common::Server;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// One certbot installation: its config, work and log directories in a temp dir.
struct Certbot {
    root: tempfile::TempDir,
    server: String,
    http01_port: u16,
}

impl Certbot {
    fn dir(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn run(&self, verb: &str, args: &[&str]) -> Output {
        let mut command = Command::new("certbot");
        command.arg(verb).args(["--non-interactive", "--server", &self.server]);
        for (flag, dir) in [("--config-dir", "config"), ("--work-dir", "work"), ("--logs-dir", "logs")] {
            command.arg(flag).arg(self.dir(dir));
        }
        command.args(args).env("HOME", self.root.path());
        command.output().expect("certbot is installed by infra/test.sh (Debian package certbot)")
    }

    /// `certbot certonly --standalone` for `name`, registering with the EAB key on first use.
    fn certonly(&self, name: &str, eab: &Value) -> Output {
        let port = self.http01_port.to_string();
        let (kid, hmac) = (eab["keyId"].as_str().unwrap(), eab["hmacKey"].as_str().unwrap());
        let args = ["--standalone", "--agree-tos", "-m", "ops@example.com", "--no-eff-email", "--http-01-port", &port, "--http-01-address", "127.0.0.1", "--eab-kid", kid, "--eab-hmac-key", hmac, "-d", name];
        self.run("certonly", &args)
    }

    fn live(&self, name: &str, file: &str) -> PathBuf {
        self.dir("config/live").join(name).join(file)
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serial(pem: &Path) -> String {
    let out = Command::new("openssl").args(["x509", "-noout", "-serial", "-in"]).arg(pem).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().trim_start_matches("serial=").to_owned()
}

fn get_json(server: &Server, admin: &str, path: &str) -> Value {
    let header = format!("x-api-key: {admin}");
    let (status, body) = server.curl(&[path, "-H", &header]);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The ACME certificates in the inventory: serial → status.
fn acme_inventory(server: &Server, admin: &str) -> Vec<(String, String)> {
    let page = get_json(server, admin, "/api/v1/certificates?channel=acme&limit=100");
    page["data"].as_array().unwrap().iter().map(|c| (c["serialNumber"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned())).collect()
}

/// The default issuing authority's id and its root's PEM.
fn issuing_authority(server: &Server, admin: &str) -> (String, String) {
    let authorities = get_json(server, admin, "/api/v1/authorities");
    let id = authorities["data"].as_array().unwrap().iter().find(|a| a["type"] == "INTERMEDIATE").unwrap()["id"].as_str().unwrap().to_owned();
    let (_, chain) = server.curl(&[&format!("/api/v1/authorities/{id}/chain")]);
    let root = chain.split_inclusive("-----END CERTIFICATE-----\n").last().unwrap().to_owned();
    (id, root)
}

#[test]
fn certbot_obtains_renews_and_revokes_a_certificate_from_an_authoritys_acme_server() {
    let dir = tempfile::tempdir().unwrap();
    let http01_port = free_port();
    let server = Server::start_with(&dir.path().join("data"), &[("ACME_HTTP01_PORT", &http01_port.to_string())]);
    let admin = server.admin_key();
    let (authority, root) = issuing_authority(&server, &admin);
    let policy = json!({ "allowedDnsNames": ["*.acme.localhost"] });
    let header = format!("x-api-key: {admin}");
    let (status, body) = server.curl(&[&format!("/api/v1/authorities/{authority}/policy"), "-X", "PUT", "-H", &header, "-H", "content-type: application/json", "-d", &policy.to_string()]);
    assert_eq!(status, 200, "{body}");
    let (status, eab) = server.post_json(&format!("/api/v1/authorities/{authority}/eab-keys"), Some(&admin), &json!({ "name": "certbot" }));
    assert_eq!(status, 201, "{eab}");
    let certbot = Certbot { root: tempfile::tempdir().unwrap(), server: format!("{}/acme/{authority}/directory", server.base), http01_port };

    let name = "web.acme.localhost";
    let obtained = certbot.certonly(name, &eab);
    assert!(obtained.status.success(), "{}", text(&obtained));
    let root_file = dir.path().join("root.pem");
    std::fs::write(&root_file, &root).unwrap();
    let verify = Command::new("openssl").arg("verify").arg("-CAfile").arg(&root_file).arg("-untrusted").arg(certbot.live(name, "chain.pem")).args(["-purpose", "sslserver"]).arg(certbot.live(name, "cert.pem")).output().unwrap();
    assert!(verify.status.success(), "{}", text(&verify));
    let first = serial(&certbot.live(name, "cert.pem"));
    assert_eq!(acme_inventory(&server, &admin), vec![(first.clone(), "VALID".to_owned())]);

    let renewed = certbot.run("renew", &["--force-renewal", "--no-random-sleep-on-renew"]);
    assert!(renewed.status.success() && text(&renewed).contains("all renewals succeeded"), "{}", text(&renewed));
    let second = serial(&certbot.live(name, "cert.pem"));
    assert_ne!(first, second, "a new certificate");
    assert_eq!(acme_inventory(&server, &admin).len(), 2);

    let revoked = certbot.run("revoke", &["--cert-name", name, "--no-delete-after-revoke", "--reason", "keycompromise"]);
    assert!(revoked.status.success(), "{}", text(&revoked));
    let inventory = acme_inventory(&server, &admin);
    assert!(inventory.contains(&(second.clone(), "REVOKED".to_owned())) && inventory.contains(&(first, "VALID".to_owned())), "{inventory:?}");
    assert_on_crl(&server, &authority, &second);

    let refused = certbot.certonly("web.other.localhost", &eab);
    let log = std::fs::read_to_string(certbot.dir("logs/letsencrypt.log")).unwrap();
    // Debian's certbot 2.1 on Python 3.11 prints "AttributeError: can't set attribute" for any
    // ACME error (certbot/certbot#9539); the problem it received is in its debug log.
    assert!(!refused.status.success() && log.contains("urn:ietf:params:acme:error:rejectedIdentifier"), "{}", text(&refused));
}

/// The issuer's published CRL lists `serial` within 30 seconds (the CRL worker runs queued).
fn assert_on_crl(server: &Server, authority: &str, serial: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crl.der");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        server.curl(&[&format!("/crl/{authority}.crl"), "-o", file.to_str().unwrap()]);
        let out = Command::new("openssl").args(["crl", "-inform", "DER", "-noout", "-text", "-in"]).arg(&file).output().unwrap();
        if String::from_utf8_lossy(&out.stdout).contains(serial) {
            return;
        }
        assert!(Instant::now() < deadline, "{serial} never reached the CRL: {}", text(&out));
        std::thread::sleep(Duration::from_millis(500));
    }
}
