use super::*;
use crate::pki::testutil::*;
use crate::ports::KeyAlgorithm;
use time::Duration;

fn entry(reason: RevocationReason) -> RevokedEntry {
    RevokedEntry { serial: Serial::random(), revoked_at: now(), reason }
}

#[test]
fn a_crl_is_v2_with_aki_number_times_and_reasons() {
    let root = test_root(KeyAlgorithm::EcP256);
    let int = test_intermediate(&root, KeyAlgorithm::EcP384);
    let entries = [entry(RevocationReason::KeyCompromise), entry(RevocationReason::Unspecified), entry(RevocationReason::CessationOfOperation)];
    let profile = CrlProfile { number: 42, this_update: now(), next_update: now() + Duration::hours(24) };
    let der = build(&profile, &entries, &int.issuer()).unwrap();
    let (rest, crl) = x509_parser::parse_x509_crl(&der).unwrap();
    assert!(rest.is_empty());
    let int_cert = parse(&int.cert.der);
    assert_eq!(crl.version(), Some(x509_parser::x509::X509Version::V2));
    assert_eq!(crl.issuer().as_raw(), int_cert.subject().as_raw());
    assert!(crl.verify_signature(int_cert.public_key()).is_ok());
    assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("42".to_owned()));
    assert_eq!(crl.last_update().to_datetime(), sign::utc_seconds(profile.this_update));
    assert_eq!(crl.next_update().map(|t| t.to_datetime()), Some(sign::utc_seconds(profile.next_update)));
    let aki = crl.extensions().iter().find_map(|e| match e.parsed_extension() {
        x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => Some(aki.key_identifier.as_ref().unwrap().0.to_vec()),
        _ => None,
    });
    assert_eq!(aki, Some(ski(&int_cert)));
    let got: Vec<(Serial, Option<u8>)> = crl.iter_revoked_certificates().map(|r| (Serial::from_bytes(r.raw_serial()), r.reason_code().map(|(_, c)| c.0))).collect();
    let want: Vec<(Serial, Option<u8>)> = entries.iter().map(|e| (e.serial.clone(), Some(e.reason.code()).filter(|c| *c != 0))).collect();
    assert_eq!(got, want);
    assert!(to_pem(&der).starts_with("-----BEGIN X509 CRL-----\n"));
}

#[test]
fn an_empty_crl_has_no_revoked_list_and_next_update_must_follow_this_update() {
    let root = test_root(KeyAlgorithm::Rsa2048);
    let profile = CrlProfile { number: 1, this_update: now(), next_update: now() + Duration::hours(1) };
    let der = build(&profile, &[], &root.issuer()).unwrap();
    assert_eq!(x509_parser::parse_x509_crl(&der).unwrap().1.iter_revoked_certificates().count(), 0);
    let backwards = CrlProfile { next_update: profile.this_update, ..profile };
    assert!(matches!(build(&backwards, &[], &root.issuer()), Err(Error::Validation(_))));
}

#[test]
fn reasons_parse_from_seed_names_snake_case_and_camel_case() {
    for (raw, want) in [
        ("KEY_COMPROMISE", RevocationReason::KeyCompromise),
        ("key_compromise", RevocationReason::KeyCompromise),
        ("keyCompromise", RevocationReason::KeyCompromise),
        ("UNSPECIFIED", RevocationReason::Unspecified),
        ("caCompromise", RevocationReason::CaCompromise),
        ("affiliation_changed", RevocationReason::AffiliationChanged),
        ("superseded", RevocationReason::Superseded),
        ("cessationOfOperation", RevocationReason::CessationOfOperation),
    ] {
        assert_eq!(RevocationReason::parse(raw).unwrap(), want, "{raw}");
    }
    let err = RevocationReason::parse("certificateHold").unwrap_err().to_string();
    assert!(err.contains("KEY_COMPROMISE") && err.contains("CESSATION_OF_OPERATION"), "{err}");
}

#[test]
fn reason_codes_are_those_of_rfc5280() {
    let codes: Vec<u8> = RevocationReason::ALL.iter().map(|r| r.code()).collect();
    assert_eq!(codes, [0, 1, 2, 3, 4, 5]);
    assert_eq!(serde_json::to_string(&RevocationReason::CaCompromise).unwrap(), "\"CA_COMPROMISE\"");
}
