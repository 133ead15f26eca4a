//! The key policy as a table of keys made by the `openssl` CLI: each CSR is accepted or refused
//! with its reason, and every accepted key is certified end to end (`openssl verify`).

use super::*;
use crate::pki::leaf::{self, LeafProfile, Template};
use crate::pki::testutil::*;
use crate::pki::{DnsName, Serial, SubjectName};
use crate::ports::KeyAlgorithm;
use std::path::Path;

/// One row: how `openssl genpkey` makes the key (empty: the CSR is a fixture), and the
/// refusal (`None`: accepted).
struct Case {
    name: &'static str,
    genpkey: &'static [&'static str],
    refusal: Option<&'static str>,
}

const fn case(name: &'static str, genpkey: &'static [&'static str], refusal: Option<&'static str>) -> Case {
    Case { name, genpkey, refusal }
}

/// An RSA-16384 CSR made once with `openssl genpkey -algorithm RSA -pkeyopt
/// rsa_keygen_bits:16384` (1 min 44 s on a 2-core runner, too long for every run) and `openssl
/// req -new -subj /CN=rsa-16384.example.com`, the key then discarded. aws-lc verifies RSA
/// signatures up to 8192 bits only, so the size must be refused before the signature check.
const RSA_16384_CSR: &str = include_str!("testdata/rsa-16384.csr");

const TABLE: &[Case] = &[
    case("rsa-1024", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"], Some("RSA key of 1024 bits is too weak (minimum 2048)")),
    case("rsa-2048", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], None),
    case("rsa-2048-e3", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_keygen_pubexp:3"], Some("RSA public exponent 3 is not accepted (65537 only)")),
    case("rsa-2048-e17", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_keygen_pubexp:17"], Some("RSA public exponent 17 is not accepted (65537 only)")),
    case("rsa-3072-e65537", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", "-pkeyopt", "rsa_keygen_pubexp:65537"], None),
    case("rsa-8192", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:8192"], None),
    case("rsa-16384", &[], Some("RSA key of 16384 bits is too large (maximum 8192)")),
    case("ec-p224", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-224"], Some("EC curve P-224 is not accepted (P-256 or P-384 only)")),
    case("ec-p256", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], None),
    case("ec-p384", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], None),
    case("ec-p521", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"], Some("EC curve P-521 is not accepted (P-256 or P-384 only)")),
    case("secp256k1", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"], Some("EC curve secp256k1 is not accepted (P-256 or P-384 only)")),
    case("brainpool", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"], Some("EC curve brainpoolP256r1 is not accepted (P-256 or P-384 only)")),
    case("ed25519", &["-algorithm", "ED25519"], None),
    case("ed448", &["-algorithm", "ED448"], Some("key algorithm Ed448 is not accepted (RSA of 2048 to 8192 bits with exponent 65537, EC P-256/P-384, or Ed25519)")),
    case("dsa-2048", &["-paramfile", "dsa.params"], Some("key algorithm DSA is not accepted (RSA of 2048 to 8192 bits with exponent 65537, EC P-256/P-384, or Ed25519)")),
];

/// `openssl args` in `dir`, which must succeed.
fn openssl_in(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openssl {args:?}: {log}");
    log
}

/// A PEM CSR for a fresh key made by `openssl genpkey genpkey`, signed by `openssl req`.
fn openssl_csr(dir: &Path, name: &str, genpkey: &[&str]) -> String {
    if genpkey.is_empty() {
        std::fs::write(dir.join("fixture.csr"), RSA_16384_CSR).unwrap();
        let text = openssl_in(dir, &["req", "-in", "fixture.csr", "-noout", "-text"]);
        assert!(text.contains("Public-Key: (16384 bit)") && text.contains("Exponent: 65537"), "{text}");
        return RSA_16384_CSR.to_owned();
    }
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    openssl_in(dir, &[&["genpkey"], genpkey, &["-out", key.as_str()]].concat());
    openssl_in(dir, &["req", "-new", "-key", &key, "-subj", &format!("/CN={name}.example.com"), "-out", &csr]);
    std::fs::read_to_string(dir.join(csr)).unwrap()
}

/// Every CSR of the table, generated in parallel (RSA 8192 takes seconds).
fn table_csrs(dir: &Path) -> Vec<String> {
    openssl_in(dir, &["genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:2048", "-out", "dsa.params"]);
    std::thread::scope(|s| {
        let jobs: Vec<_> = TABLE.iter().map(|c| s.spawn(move || openssl_csr(dir, c.name, c.genpkey))).collect();
        jobs.into_iter().map(|j| j.join().unwrap()).collect()
    })
}

/// Issues a TLS_SERVER leaf for `csr` from an EC intermediate and has `openssl verify` check
/// the chain strictly; the leaf must carry the CSR's key.
fn certify_and_verify(dir: &Path, name: &str, csr: &VerifiedCsr) {
    let root = test_root(KeyAlgorithm::EcP256);
    let int = test_intermediate(&root, KeyAlgorithm::EcP384);
    let host = format!("{name}.example.com");
    let subject = SubjectName::common_name_only(&host).unwrap();
    let dns = [DnsName::parse(&host).unwrap()];
    let profile = LeafProfile { template: Template::TlsServer, subject: &subject, dns_names: &dns, ip_addresses: &[], uris: &[], serial: Serial::random(), not_before: now(), not_after: now() + time::Duration::days(30) };
    let issued = leaf::issue(&profile, &csr.key, &int.issuer()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(parse(&issued.der).public_key().raw, csr.key.spki_der.as_slice(), "{name}: the leaf carries the CSR's key");
    let (root_pem, int_pem, leaf_pem) = (format!("{name}-root.pem"), format!("{name}-int.pem"), format!("{name}-leaf.pem"));
    std::fs::write(dir.join(&root_pem), &root.cert.pem).unwrap();
    std::fs::write(dir.join(&int_pem), &int.cert.pem).unwrap();
    std::fs::write(dir.join(&leaf_pem), &issued.pem).unwrap();
    let out = openssl_in(dir, &["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", &root_pem, "-untrusted", &int_pem, &leaf_pem]);
    assert!(out.contains(": OK"), "{name}: {out}");
}

#[test]
fn every_key_of_the_openssl_table_is_accepted_or_refused_with_its_reason_and_accepted_ones_verify() {
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    for (case, pem) in TABLE.iter().zip(table_csrs(dir.path())) {
        match (verify_pem(&pem), case.refusal) {
            (Ok(csr), None) => certify_and_verify(dir.path(), case.name, &csr),
            (Err(Error::Validation(reason)), Some(expected)) if reason == expected => {}
            (outcome, expected) => wrong.push(format!("{}: expected {:?}, got {:?}", case.name, expected.unwrap_or("acceptance"), outcome.map(|c| c.fingerprint))),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
