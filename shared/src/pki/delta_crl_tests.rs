use super::*;
use crate::pki::crl::{RevocationReason, RevokedEntry};
use crate::pki::leaf::{self, LeafProfile, Template};
use crate::pki::testutil::*;
use crate::pki::{chain, csr, DnsName, Serial, SubjectName};
use crate::ports::KeyAlgorithm;
use std::path::Path;
use time::Duration;

const DELTA_URL: &str = "http://pki.example.com/crl/int-delta.crl";

fn profile(number: u64, hours: i64) -> CrlProfile {
    CrlProfile { number, this_update: now(), next_update: now() + Duration::hours(hours) }
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let args: Vec<String> = args.iter().map(|a| if a.ends_with(".pem") { dir.join(a).display().to_string() } else { (*a).to_owned() }).collect();
    run("openssl", &args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn leaf_of(int: &TestCa) -> crate::pki::IssuedCert {
    let leaf_key = key_pair(KeyAlgorithm::EcP256);
    let request = csr::verify_pem(&csr_pem(&leaf_key, "www.example.com", false)).unwrap();
    let name = SubjectName::common_name_only("www.example.com").unwrap();
    let dns = [DnsName::parse("www.example.com").unwrap()];
    let profile = LeafProfile {
        template: Template::TlsServer,
        subject: &name,
        dns_names: &dns,
        ip_addresses: &[],
        uris: &[],
        serial: Serial::random(),
        not_before: now(),
        not_after: now() + Duration::days(30),
    };
    leaf::issue(&profile, &request.key, &int.issuer()).unwrap()
}

#[test]
fn a_delta_crl_carries_a_critical_indicator_naming_its_base_and_verifies_under_the_issuer() {
    for alg in [KeyAlgorithm::EcP384, KeyAlgorithm::Rsa2048] {
        let root = test_root(alg);
        let int = test_intermediate(&root, alg);
        let entry = RevokedEntry { serial: Serial::random(), revoked_at: now(), reason: RevocationReason::KeyCompromise };
        let der = build_delta(&profile(8, 6), 7, std::slice::from_ref(&entry), &int.issuer()).unwrap();
        assert_eq!(base_number(&der), Some(7));
        assert_eq!(crl::number(&der), Some(8));
        let (_, parsed) = x509_parser::parse_x509_crl(&der).unwrap();
        let indicator = parsed.extensions().iter().find(|e| e.oid == x509_parser::oid_registry::OID_X509_EXT_DELTA_CRL_INDICATOR).unwrap();
        assert!(indicator.critical);
        assert_eq!(parsed.iter_revoked_certificates().map(|r| Serial::from_bytes(r.raw_serial())).collect::<Vec<_>>(), vec![entry.serial]);
        let dir = temp_files(&[("int.pem", int.cert.pem.as_bytes()), ("delta.pem", crl::to_pem(&der).as_bytes())]);
        let (ok, out) = openssl(dir.path(), &["crl", "-in", "delta.pem", "-CAfile", "int.pem", "-noout", "-text"]);
        assert!(ok && out.contains("verify OK"), "{alg:?}: {out}");
        assert!(out.contains("Delta CRL Indicator: critical") && out.contains("7"), "{alg:?}: {out}");
    }
}

#[test]
fn a_delta_crl_numbered_at_or_below_its_base_is_refused() {
    let root = test_root(KeyAlgorithm::EcP256);
    for number in [6, 7] {
        assert!(matches!(build_delta(&profile(number, 6), 7, &[], &root.issuer()), Err(Error::Validation(_))));
    }
}

#[test]
fn a_base_crl_names_its_delta_in_a_non_critical_freshest_crl_extension() {
    let root = test_root(KeyAlgorithm::EcP256);
    let der = build_base(&profile(3, 24), &[], &root.issuer(), DELTA_URL).unwrap();
    assert_eq!((crl::number(&der), base_number(&der)), (Some(3), None));
    let (_, parsed) = x509_parser::parse_x509_crl(&der).unwrap();
    let freshest = parsed.extensions().iter().find(|e| e.oid == x509_parser::oid_registry::OID_X509_EXT_FRESHEST_CRL).unwrap();
    assert!(!freshest.critical);
    let dir = temp_files(&[("root.pem", root.cert.pem.as_bytes()), ("base.pem", crl::to_pem(&der).as_bytes())]);
    let (ok, out) = openssl(dir.path(), &["crl", "-in", "base.pem", "-CAfile", "root.pem", "-noout", "-text"]);
    assert!(ok && out.contains("verify OK"), "{out}");
    assert!(out.contains("Freshest CRL") && out.contains(&format!("URI:{DELTA_URL}")), "{out}");
    assert!(build_base(&profile(3, 24), &[], &root.issuer(), "ftp://x y").is_err());
}

#[test]
fn openssl_with_use_deltas_finds_a_revocation_listed_only_on_the_delta() {
    let root = test_root(KeyAlgorithm::EcP256);
    let int = test_intermediate(&root, KeyAlgorithm::EcP256);
    let leaf = leaf_of(&int);
    let base = build_base(&profile(4, 24), &[], &int.issuer(), DELTA_URL).unwrap();
    let revoked = RevokedEntry { serial: leaf.serial.clone(), revoked_at: now(), reason: RevocationReason::KeyCompromise };
    let delta = build_delta(&profile(5, 6), 4, &[revoked], &int.issuer()).unwrap();
    let root_crl = crl::build(&profile(1, 24), &[], &root.issuer()).unwrap();
    let bundle = chain::pem_chain(&[int.cert.der.clone(), root.cert.der.clone()]);
    let crls = [crl::to_pem(&base), crl::to_pem(&root_crl)].concat();
    let with_delta = [crls.clone(), crl::to_pem(&delta)].concat();
    let dir = temp_files(&[("bundle.pem", bundle.as_bytes()), ("leaf.pem", leaf.pem.as_bytes()), ("crls.pem", crls.as_bytes()), ("deltas.pem", with_delta.as_bytes())]);
    let d = dir.path();
    let (ok, out) = openssl(d, &["verify", "-crl_check_all", "-CAfile", "bundle.pem", "-CRLfile", "crls.pem", "leaf.pem"]);
    assert!(ok && out.contains(": OK"), "{out}");
    let (ok, out) = openssl(d, &["verify", "-crl_check_all", "-use_deltas", "-CAfile", "bundle.pem", "-CRLfile", "deltas.pem", "leaf.pem"]);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
}

#[test]
fn the_changes_since_a_previous_crl_are_the_entries_it_does_not_list_with_their_dates_and_reasons() {
    let root = test_root(KeyAlgorithm::EcP256);
    let at = now() - Duration::minutes(3);
    let old = RevokedEntry { serial: Serial::random(), revoked_at: at, reason: RevocationReason::Superseded };
    let new = [
        RevokedEntry { serial: Serial::random(), revoked_at: at, reason: RevocationReason::KeyCompromise },
        RevokedEntry { serial: Serial::random(), revoked_at: now(), reason: RevocationReason::Unspecified },
    ];
    let previous = crl::build(&profile(1, 24), std::slice::from_ref(&old), &root.issuer()).unwrap();
    let base = crl::build(&profile(2, 24), &[old, new[0].clone(), new[1].clone()], &root.issuer()).unwrap();
    let got: Vec<(Serial, i64, RevocationReason)> = changes(&base, &previous).unwrap().into_iter().map(|e| (e.serial, e.revoked_at.unix_timestamp(), e.reason)).collect();
    let want: Vec<(Serial, i64, RevocationReason)> = new.into_iter().map(|e| (e.serial, e.revoked_at.unix_timestamp(), e.reason)).collect();
    assert_eq!(got, want);
    assert!(changes(&previous, &previous).unwrap().is_empty());
}
