//! A Puppet agent's enrolment through a real `trustplane serve`: PEM over text/plain with curl,
//! signed through the admin API, verified with openssl against `/puppet-ca/v1/certificate/ca`.

mod common;

use common::Server;
use std::process::Command;

#[test]
fn a_puppet_agent_enrols_through_serve_and_its_certificate_verifies_against_the_served_ca() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(work.path()).output().unwrap();
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    openssl(&["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "node.key", "-subj", "/CN=node1.example.com", "-out", "node.csr"]);
    let csr = work.path().join("node.csr").display().to_string();
    let (code, body) = server.curl(&["/puppet-ca/v1/certificate_request/node1.example.com", "-X", "PUT", "-H", "content-type: text/plain", "--data-binary", &format!("@{csr}")]);
    assert_eq!(code, 200, "{body}");
    let admin = server.admin_key();
    let (code, pending) = server.curl(&["/api/v1/ca/requests", "-H", &format!("x-api-key: {admin}")]);
    assert_eq!(code, 200);
    assert!(pending.contains("node1.example.com"), "{pending}");
    let (code, signed) = server.curl(&["/api/v1/ca/sign/node1.example.com", "-X", "POST", "-H", &format!("x-api-key: {admin}")]);
    assert_eq!(code, 200, "{signed}");
    let (code, cert) = server.curl(&["/puppet-ca/v1/certificate/node1.example.com"]);
    assert_eq!(code, 200);
    let (_, ca) = server.curl(&["/puppet-ca/v1/certificate/ca"]);
    std::fs::write(work.path().join("node.pem"), cert).unwrap();
    std::fs::write(work.path().join("ca.pem"), ca).unwrap();
    assert!(openssl(&["verify", "-CAfile", "ca.pem", "node.pem"]).contains("node.pem: OK"));
    let (code, listed) = server.curl(&["/api/v1/ca/certificates?certname=node1.example.com", "-H", &format!("x-api-key: {admin}")]);
    assert_eq!(code, 200);
    assert!(listed.contains("\"status\":\"valid\""), "{listed}");
}
