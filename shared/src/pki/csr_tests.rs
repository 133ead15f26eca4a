use super::*;
use crate::pki::testutil::*;
use crate::ports::KeyAlgorithm;

fn reason(pem: &str) -> String {
    match verify_pem(pem) {
        Err(Error::Validation(reason)) => reason,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_good_csr_yields_its_key_cn_fingerprint_and_canonical_pem() {
    let key = key_pair(KeyAlgorithm::EcP256);
    let pem = csr_pem(&key, "agent1.example.com", false);
    let csr = verify_pem(&format!("junk before\n{}", pem.replace('\n', "\r\n"))).unwrap();
    assert_eq!(csr.common_name.as_deref(), Some("agent1.example.com"));
    assert!(!csr.requests_ca && !csr.key.is_rsa);
    assert_eq!(csr.key.spki_der, rcgen::PublicKeyData::subject_public_key_info(&key));
    let der = crate::pki::pem::decode_all(&pem).unwrap().remove(0).1;
    assert_eq!(csr.fingerprint, fingerprint(&der));
    assert_eq!(csr.fingerprint.len(), 32 * 3 - 1);
    assert!(csr.fingerprint.split(':').all(|b| b.len() == 2 && b == b.to_uppercase()));
    assert_eq!(csr.pem, crate::pki::pem::encode("CERTIFICATE REQUEST", &der));
}

#[test]
fn a_csr_asking_for_ca_true_is_flagged() {
    let csr = verify_pem(&csr_pem(&key_pair(KeyAlgorithm::EcP384), "sub-ca", true)).unwrap();
    assert!(csr.requests_ca);
}

#[test]
fn an_rsa_2048_csr_is_accepted_as_rsa() {
    let csr = verify_pem(&csr_pem(&key_pair(KeyAlgorithm::Rsa2048), "rsa", false)).unwrap();
    assert!(csr.key.is_rsa);
}

#[test]
fn a_tampered_csr_does_not_verify() {
    let pem = csr_pem(&key_pair(KeyAlgorithm::EcP256), "victim.example.com", false);
    let mut der = crate::pki::pem::decode_all(&pem).unwrap().remove(0).1;
    let at = der.windows(6).position(|w| w == b"victim").unwrap();
    der[at] = b'V';
    assert_eq!(reason(&crate::pki::pem::encode("CERTIFICATE REQUEST", &der)), "signature does not verify");
}

#[test]
fn things_that_are_not_one_pem_csr_are_refused() {
    let csr = csr_pem(&key_pair(KeyAlgorithm::EcP256), "x", false);
    assert_eq!(reason("hello"), "not a PEM certificate request");
    assert_eq!(reason(&crate::pki::pem::encode("CERTIFICATE", b"\x30\x00")), "not a PEM certificate request");
    assert_eq!(reason(&format!("{csr}{csr}")), "expected exactly one certificate request");
    assert_eq!(reason(&crate::pki::pem::encode("CERTIFICATE REQUEST", b"\x30\x03\x02\x01\x00")), "the certificate request is not valid DER");
    let new_label = csr.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST");
    assert!(verify_pem(&new_label).is_ok());
}

const PUPPET_REQ: &str = "[req]\ndistinguished_name = dn\nattributes = attrs\nreq_extensions = ext\nprompt = no\n\
[dn]\nCN = agent7.example.com\n[attrs]\nchallengePassword = sekrit\n\
[ext]\nbasicConstraints = critical,CA:TRUE\n1.3.6.1.4.1.34380.1.1.1 = ASN1:UTF8String:ED803750-E3C7-44F5-BB08-41A04433FE2E\n\
subjectAltName = DNS:puppet, DNS:agent7.example.com\n";

#[test]
fn a_puppet_style_openssl_csr_with_attributes_and_custom_extensions_verifies() {
    let dir = temp_files(&[("req.cnf", PUPPET_REQ.as_bytes())]);
    let (cnf, out) = (dir.path().join("req.cnf"), dir.path().join("p.csr"));
    let args = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-config", cnf.to_str().unwrap(), "-keyout", "/dev/null", "-out", out.to_str().unwrap()];
    let (ok, log) = run("openssl", &args);
    assert!(ok, "{log}");
    let csr = verify_pem(&std::fs::read_to_string(out).unwrap()).unwrap();
    assert_eq!(csr.common_name.as_deref(), Some("agent7.example.com"));
    assert!(csr.requests_ca && !csr.key.is_rsa);
}
