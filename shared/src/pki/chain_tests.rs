use super::*;
use crate::pki::testutil::*;
use crate::ports::KeyAlgorithm;

#[test]
fn a_pem_chain_keeps_order_and_parses_back() {
    let root = test_root(KeyAlgorithm::EcP256);
    let int = test_intermediate(&root, KeyAlgorithm::EcP256);
    let ders = vec![int.cert.der.clone(), root.cert.der.clone()];
    let pem = pem_chain(&ders);
    assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    assert_eq!(parse_pem_certs(&pem).unwrap(), ders);
}

#[test]
fn bundles_with_other_blocks_garbage_or_nothing_are_refused() {
    let root = test_root(KeyAlgorithm::EcP256);
    let key = crate::pki::pem::encode("PRIVATE KEY", b"secret");
    assert!(parse_pem_certs(&format!("{}{key}", cert_pem(&root.cert.der))).is_err());
    assert!(parse_pem_certs(&cert_pem(b"not a certificate")).is_err());
    assert!(parse_pem_certs("").is_err());
    assert!(p7b(&[]).is_err());
}

#[test]
fn openssl_reads_the_p7b_certificates_in_order() {
    let root = test_root(KeyAlgorithm::EcP384);
    let int = test_intermediate(&root, KeyAlgorithm::EcP256);
    let bundle = p7b(&[int.cert.der.clone(), root.cert.der.clone()]).unwrap();
    let dir = temp_files(&[("chain.p7b", &bundle)]);
    let path = dir.path().join("chain.p7b");
    let (ok, out) = run("openssl", &["pkcs7", "-inform", "DER", "-in", path.to_str().unwrap(), "-print_certs"]);
    assert!(ok, "{out}");
    let subjects: Vec<&str> = out.lines().filter(|l| l.starts_with("subject=")).collect();
    assert_eq!(subjects.len(), 2, "{out}");
    assert!(subjects[0].contains("Test Intermediate") && subjects[1].contains("Test Root"), "{out}");
    assert_eq!(parse_pem_certs(&out).unwrap(), [int.cert.der.clone(), root.cert.der.clone()]);
}
