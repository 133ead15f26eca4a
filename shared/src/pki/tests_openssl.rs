//! End to end against OpenSSL: root → intermediate (pathLen 0) → TLS_SERVER leaf from a CSR,
//! chain verification with RFC 5280 strictness, and revocation through an intermediate CRL.

use super::crl::{self, CrlProfile, RevocationReason, RevokedEntry};
use super::leaf::{self, LeafProfile, Template};
use super::testutil::*;
use super::{chain, csr, DnsName, Serial};
use crate::ports::KeyAlgorithm;
use std::path::Path;
use time::Duration;

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let args: Vec<String> = args.iter().map(|a| if a.contains('.') && !a.starts_with('-') { dir.join(a).display().to_string() } else { (*a).to_owned() }).collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run("openssl", &refs)
}

fn hierarchy_verifies_and_revocation_is_seen(alg: KeyAlgorithm) {
    let root = test_root(alg);
    let int = test_intermediate(&root, alg);
    let leaf_key = key_pair(alg);
    let request = csr::verify_pem(&csr_pem(&leaf_key, "www.example.com", false)).unwrap();
    let name = super::SubjectName::common_name_only(request.common_name.as_deref().unwrap()).unwrap();
    let dns = [DnsName::parse("www.example.com").unwrap()];
    let profile = LeafProfile {
        template: Template::TlsServer,
        subject: &name,
        dns_names: &dns,
        ip_addresses: &[],
        uris: &[],
        serial: Serial::random(),
        not_before: now(),
        not_after: now() + Duration::days(90),
    };
    let leaf = leaf::issue(&profile, &request.key, &int.issuer()).unwrap();
    let crl_profile = CrlProfile { number: 7, this_update: now(), next_update: now() + Duration::days(1) };
    let revoked = [RevokedEntry { serial: leaf.serial.clone(), revoked_at: now(), reason: RevocationReason::KeyCompromise }];
    let crl_der = crl::build(&crl_profile, &revoked, &int.issuer()).unwrap();
    let empty_crl = crl::build(&CrlProfile { number: 6, ..crl_profile }, &[], &int.issuer()).unwrap();
    let bundle = chain::pem_chain(&[int.cert.der.clone(), root.cert.der.clone()]);
    let dir = temp_files(&[
        ("root.pem", root.cert.pem.as_bytes()),
        ("int.pem", int.cert.pem.as_bytes()),
        ("leaf.pem", leaf.pem.as_bytes()),
        ("bundle.pem", bundle.as_bytes()),
        ("crl.pem", crl::to_pem(&crl_der).as_bytes()),
        ("empty.pem", crl::to_pem(&empty_crl).as_bytes()),
    ]);
    let d = dir.path();

    let (ok, out) = openssl(d, &["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", "root.pem", "-untrusted", "int.pem", "leaf.pem"]);
    assert!(ok && out.contains(": OK"), "{alg:?}: {out}");
    let (ok, out) = openssl(d, &["crl", "-in", "crl.pem", "-CAfile", "int.pem", "-noout"]);
    assert!(ok && out.contains("verify OK"), "{alg:?}: {out}");
    let (ok, out) = openssl(d, &["verify", "-x509_strict", "-crl_check", "-CAfile", "bundle.pem", "-CRLfile", "empty.pem", "leaf.pem"]);
    assert!(ok && out.contains(": OK"), "{alg:?}: {out}");
    let (ok, out) = openssl(d, &["verify", "-crl_check", "-CAfile", "bundle.pem", "-CRLfile", "crl.pem", "leaf.pem"]);
    assert!(!ok && out.contains("certificate revoked"), "{alg:?}: {out}");
}

#[test]
fn an_ec_p256_hierarchy_verifies_in_openssl_and_its_crl_revokes_the_leaf() {
    hierarchy_verifies_and_revocation_is_seen(KeyAlgorithm::EcP256);
}

#[test]
fn an_ec_p384_hierarchy_verifies_in_openssl_and_its_crl_revokes_the_leaf() {
    hierarchy_verifies_and_revocation_is_seen(KeyAlgorithm::EcP384);
}

#[test]
fn an_rsa_2048_hierarchy_verifies_in_openssl_and_its_crl_revokes_the_leaf() {
    hierarchy_verifies_and_revocation_is_seen(KeyAlgorithm::Rsa2048);
}
