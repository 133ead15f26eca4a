use super::*;
use crate::pki::testutil::*;
use crate::ports::KeyAlgorithm;
use x509_parser::extensions::{GeneralName, ParsedExtension};

fn basic_constraints(cert: &x509_parser::certificate::X509Certificate<'_>) -> (bool, bool, Option<u32>) {
    let ext = ext(cert, "2.5.29.19");
    match ext.parsed_extension() {
        ParsedExtension::BasicConstraints(bc) => (ext.critical, bc.ca, bc.path_len_constraint),
        other => panic!("{other:?}"),
    }
}

fn assert_ca_key_usage(cert: &x509_parser::certificate::X509Certificate<'_>) {
    let ku = ext(cert, "2.5.29.15");
    assert!(ku.critical);
    let ParsedExtension::KeyUsage(ku) = ku.parsed_extension() else { panic!() };
    assert!(ku.key_cert_sign() && ku.crl_sign());
    assert!(!ku.digital_signature() && !ku.key_encipherment() && !ku.non_repudiation());
}

#[test]
fn a_root_is_self_signed_with_critical_ca_constraints_ski_and_no_aki() {
    let signer = signer(KeyAlgorithm::EcP256);
    let name = subject("Root");
    let profile = ca_profile(&name, 10, None);
    let issued = self_signed_root(&profile, &signer).unwrap();
    let cert = parse(&issued.der);
    assert_eq!(basic_constraints(&cert), (true, true, None));
    assert_ca_key_usage(&cert);
    assert_eq!(ski(&cert), crate::pki::sign::key_identifier(&public_bits(&signer)));
    for absent in ["2.5.29.35", "2.5.29.31", "1.3.6.1.5.5.7.1.1", "2.5.29.37"] {
        assert!(!has_ext(&cert, absent), "{absent} on a root");
    }
    assert_eq!(cert.issuer().as_raw(), cert.subject().as_raw());
    assert_eq!(cert.subject().to_string(), "C=DE, O=Trustplane Test, CN=Root");
    assert!(cert.verify_signature(None).is_ok());
    assert_eq!(cert.version(), x509_parser::x509::X509Version::V3);
    assert_eq!(issued.serial, profile.serial);
    assert!((16..=17).contains(&cert.raw_serial().len()) && cert.raw_serial()[0] & 0x80 == 0);
    assert_eq!(issued.not_before, crate::pki::sign::utc_seconds(profile.not_before));
    assert_eq!(issued.thumbprint, crate::pki::thumbprint(&issued.der));
}

#[test]
fn an_intermediate_carries_aki_path_len_crl_dp_and_ocsp_aia_from_its_parent() {
    let root = test_root(KeyAlgorithm::EcP384);
    let int = test_intermediate(&root, KeyAlgorithm::EcP256);
    let cert = parse(&int.cert.der);
    let root_cert = parse(&root.cert.der);
    assert_eq!(basic_constraints(&cert), (true, true, Some(0)));
    assert_ca_key_usage(&cert);
    assert_eq!(aki(&cert), ski(&root_cert));
    assert!(!ext(&cert, "2.5.29.35").critical);
    assert_eq!(cert.issuer().as_raw(), root_cert.subject().as_raw());
    assert!(cert.verify_signature(Some(root_cert.public_key())).is_ok());
    let ParsedExtension::CRLDistributionPoints(dps) = ext(&cert, "2.5.29.31").parsed_extension() else { panic!() };
    let Some(x509_parser::extensions::DistributionPointName::FullName(names)) = &dps.points[0].distribution_point else { panic!() };
    assert_eq!(names, &[GeneralName::URI(CRL_URL)]);
    let aia = ext(&cert, "1.3.6.1.5.5.7.1.1");
    assert!(!aia.critical);
    let ParsedExtension::AuthorityInfoAccess(aia) = aia.parsed_extension() else { panic!() };
    let locations: Vec<_> = aia.iter().map(|d| (d.access_method.to_id_string(), d.access_location.clone())).collect();
    assert_eq!(locations, [("1.3.6.1.5.5.7.48.1".to_owned(), GeneralName::URI(OCSP_URL))]);
}

#[test]
fn urls_are_left_out_when_the_parent_has_none() {
    let root = test_root(KeyAlgorithm::EcP256);
    let child = signer(KeyAlgorithm::EcP256);
    let issuer = IssuerRef { crl_distribution_point: None, ocsp_responder_url: None, ..root.issuer() };
    let name = subject("Int");
    let cert = intermediate(&ca_profile(&name, 1, Some(0)), &child, &issuer).unwrap();
    let cert = parse(&cert.der);
    assert!(!has_ext(&cert, "2.5.29.31") && !has_ext(&cert, "1.3.6.1.5.5.7.1.1"));
}

#[test]
fn a_parent_with_path_len_zero_cannot_sign_a_ca_and_validity_must_not_be_inverted() {
    let root = test_root(KeyAlgorithm::EcP256);
    let int = test_intermediate(&root, KeyAlgorithm::EcP256);
    let name = subject("Too deep");
    let err = intermediate_of(&int, &ca_profile(&name, 1, Some(0)));
    assert!(matches!(err, Err(Error::Validation(m)) if m.contains("pathLenConstraint")));
    let mut inverted = ca_profile(&name, 1, None);
    std::mem::swap(&mut inverted.not_before, &mut inverted.not_after);
    assert!(matches!(self_signed_root(&inverted, &signer(KeyAlgorithm::EcP256)), Err(Error::Validation(_))));
}

fn intermediate_of(parent: &TestCa, profile: &CaProfile<'_>) -> Result<IssuedCert> {
    super::intermediate(profile, &signer(KeyAlgorithm::EcP256), &parent.issuer())
}

#[test]
fn a_custody_outage_surfaces_as_unavailable_not_as_an_rcgen_error() {
    let kp = key_pair(KeyAlgorithm::EcP256);
    let down = CaSigner::new(KeyAlgorithm::EcP256, &rcgen::PublicKeyData::subject_public_key_info(&kp), std::sync::Arc::new(Down)).unwrap();
    let name = subject("Root");
    assert!(matches!(self_signed_root(&ca_profile(&name, 1, None), &down), Err(Error::Unavailable(_))));
}

#[test]
fn a_root_reissue_keeps_subject_bytes_key_and_path_len_with_a_new_serial() {
    let root = test_root(KeyAlgorithm::Rsa2048);
    let old = parse(&root.cert.der);
    for issuer in [None, Some(root.issuer())] {
        let serial = Serial::random();
        let renewed = reissue(&root.cert.der, serial.clone(), now(), now() + time::Duration::days(3650), &root.signer, issuer.as_ref(), None).unwrap();
        let new = parse(&renewed.der);
        assert_eq!(new.subject().as_raw(), old.subject().as_raw());
        assert_eq!(new.issuer().as_raw(), old.subject().as_raw());
        assert_eq!(new.public_key().raw, old.public_key().raw);
        assert_eq!(ski(&new), ski(&old));
        assert_eq!(basic_constraints(&new), (true, true, Some(1)));
        assert!(!has_ext(&new, "2.5.29.35"));
        assert_eq!(renewed.serial, serial);
        assert!(new.verify_signature(None).is_ok());
    }
}

#[test]
fn an_intermediate_reissue_is_signed_by_the_parent_and_a_foreign_key_is_refused() {
    let root = test_root(KeyAlgorithm::EcP256);
    let int = test_intermediate(&root, KeyAlgorithm::EcP384);
    let renewed = reissue(&int.cert.der, Serial::random(), now(), now() + time::Duration::days(365), &int.signer, Some(&root.issuer()), None).unwrap();
    let (old, new, root_cert) = (parse(&int.cert.der), parse(&renewed.der), parse(&root.cert.der));
    assert_eq!(new.subject().as_raw(), old.subject().as_raw());
    assert_eq!(aki(&new), ski(&root_cert));
    assert_eq!(basic_constraints(&new), (true, true, Some(0)));
    assert!(new.verify_signature(Some(root_cert.public_key())).is_ok());
    let other = signer(KeyAlgorithm::EcP384);
    let err = reissue(&int.cert.der, Serial::random(), now(), now() + time::Duration::days(1), &other, Some(&root.issuer()), None);
    assert!(matches!(err, Err(Error::Validation(_))));
}

#[test]
fn a_ca_with_an_email_subject_keeps_its_rfc822_name_san_across_reissue() {
    let key = signer(KeyAlgorithm::EcP256);
    let name = SubjectName::parse(SubjectName { email: Some("pki@example.com".into()), ..subject("Mail Root") }).unwrap();
    let root = self_signed_root(&ca_profile(&name, 2, None), &key).unwrap();
    let renewed = reissue(&root.der, Serial::random(), now(), now() + time::Duration::days(30), &key, None, None).unwrap();
    for der in [&root.der, &renewed.der] {
        let cert = parse(der);
        let ParsedExtension::SubjectAlternativeName(san) = ext(&cert, "2.5.29.17").parsed_extension() else { panic!() };
        assert_eq!(san.general_names, [GeneralName::RFC822Name("pki@example.com")]);
    }
    assert_eq!(parse(&renewed.der).subject().as_raw(), parse(&root.der).subject().as_raw());
}
