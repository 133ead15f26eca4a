//! What a provisioned agent certificate must be: the CSR's key, a TLS client certificate
//! only, the configured validity, and a `ca_cert` that is its chain in order.

use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;

/// The certificate binds `spki` (the CSR's SubjectPublicKeyInfo, DER), is a TLS client
/// certificate only, not a CA, and lasts exactly `days` (AGENT_CERT_VALIDITY_DAYS).
pub fn assert_agent_profile(cert_pem: &str, spki: &[u8], days: u32) {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).unwrap();
    let cert = pem.parse_x509().unwrap();
    assert_eq!(cert.public_key().raw, spki, "the certificate carries the CSR's key");
    let eku = cert.extended_key_usage().unwrap().expect("EKU present").value;
    assert!(eku.client_auth && !eku.server_auth && !eku.any && !eku.code_signing, "client authentication only: {eku:?}");
    assert!(!cert.is_ca());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (not_before, not_after) = (cert.validity().not_before.timestamp(), cert.validity().not_after.timestamp());
    assert!(not_before <= now && now - not_before <= 300, "notBefore is now, backdated at most 5 minutes for clock skew");
    assert!((not_after - now - i64::from(days) * 86_400).abs() <= 60, "notAfter is AGENT_CERT_VALIDITY_DAYS from now");
}

/// `ca_cert` is the agent certificate's chain in order: its first certificate issued the
/// agent's, each certificate is signed by the next, and the last is the self-signed root.
pub fn assert_ca_cert_order(ca_pem: &str, cert_pem: &str) {
    let blocks: Vec<Pem> = Pem::iter_from_buffer(ca_pem.as_bytes()).map(|p| p.expect("a PEM block")).collect();
    let chain: Vec<X509Certificate> = blocks.iter().map(|p| p.parse_x509().expect("a CA certificate")).collect();
    assert!(chain.len() >= 2, "the issuing CA and the root: {ca_pem}");
    let (_, agent) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()).unwrap();
    let agent = agent.parse_x509().unwrap();
    assert_eq!(agent.issuer(), chain[0].subject(), "the first CA certificate issued the agent's");
    agent.verify_signature(Some(chain[0].public_key())).expect("the agent certificate is signed by the first CA certificate");
    for pair in chain.windows(2) {
        assert_eq!(pair[0].issuer(), pair[1].subject(), "each CA certificate is issued by the next");
        pair[0].verify_signature(Some(pair[1].public_key())).expect("and signed by it");
    }
    let root = chain.last().unwrap();
    assert_eq!(root.issuer(), root.subject(), "the root comes last");
    root.verify_signature(None).expect("the root's self-signature verifies");
}
