use super::*;
use crate::pki::testutil::*;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

fn profile<'a>(template: Template, subject: &'a SubjectName, dns: &'a [DnsName], ips: &'a [std::net::IpAddr]) -> LeafProfile<'a> {
    LeafProfile { template, subject, dns_names: dns, ip_addresses: ips, uris: &[], serial: Serial::random(), not_before: now(), not_after: now() + time::Duration::days(30) }
}

fn ekus(cert: &X509Certificate<'_>) -> (bool, bool, bool, bool, bool) {
    let ext = ext(cert, "2.5.29.37");
    let ParsedExtension::ExtendedKeyUsage(eku) = ext.parsed_extension() else { panic!() };
    assert!(eku.other.is_empty() && !eku.any);
    (ext.critical, eku.server_auth, eku.client_auth, eku.code_signing, eku.email_protection)
}

fn key_usage(cert: &X509Certificate<'_>) -> (bool, u16) {
    let ext = ext(cert, "2.5.29.15");
    let ParsedExtension::KeyUsage(ku) = ext.parsed_extension() else { panic!() };
    (ext.critical, ku.flags)
}

#[test]
fn each_template_gets_exactly_its_extended_key_usages() {
    let root = test_root(KeyAlgorithm::EcP256);
    let name = subject("leaf");
    let dns = [DnsName::parse("leaf.example.com").unwrap()];
    let (key, _) = generate_key(KeyAlgorithm::EcP256).unwrap();
    let cases = [
        (Template::TlsServer, (false, true, false, false, false)),
        (Template::TlsClient, (false, false, true, false, false)),
        (Template::CodeSigning, (false, false, false, true, false)),
        (Template::PuppetAgent, (false, true, true, false, false)),
    ];
    for (template, expected) in cases {
        let issued = issue(&profile(template, &name, &dns, &[]), &key, &root.issuer()).unwrap();
        assert_eq!(ekus(&parse(&issued.der)), expected, "{template:?}");
    }
}

#[test]
fn a_leaf_has_critical_ca_false_key_usage_ski_aki_san_crl_dp_and_ocsp_aia() {
    let root = test_root(KeyAlgorithm::EcP384);
    let int = test_intermediate(&root, KeyAlgorithm::EcP256);
    let name = subject("web");
    let dns = [DnsName::parse("web.example.com").unwrap(), DnsName::parse("*.web.example.com").unwrap()];
    let ips: [std::net::IpAddr; 2] = ["192.0.2.7".parse().unwrap(), "2001:db8::1".parse().unwrap()];
    let (key, _) = generate_key(KeyAlgorithm::EcP256).unwrap();
    let p = profile(Template::TlsServer, &name, &dns, &ips);
    let issued = issue(&p, &key, &int.issuer()).unwrap();
    let cert = parse(&issued.der);
    let bc = ext(&cert, "2.5.29.19");
    assert!(bc.critical && matches!(bc.parsed_extension(), ParsedExtension::BasicConstraints(b) if !b.ca && b.path_len_constraint.is_none()));
    assert_eq!(key_usage(&cert), (true, 1));
    assert_eq!(ski(&cert), crate::pki::sign::key_identifier(&cert.public_key().subject_public_key.data));
    assert_eq!(aki(&cert), ski(&parse(&int.cert.der)));
    let san = ext(&cert, "2.5.29.17");
    let ParsedExtension::SubjectAlternativeName(san_value) = san.parsed_extension() else { panic!() };
    assert!(!san.critical);
    assert_eq!(
        san_value.general_names,
        [
            GeneralName::DNSName("web.example.com"),
            GeneralName::DNSName("*.web.example.com"),
            GeneralName::IPAddress(&[192, 0, 2, 7]),
            GeneralName::IPAddress(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ]
    );
    assert!(has_ext(&cert, "2.5.29.31") && has_ext(&cert, "1.3.6.1.5.5.7.1.1"));
    assert_eq!(cert.public_key().raw, key.spki_der.as_slice());
    assert_eq!(cert.issuer().as_raw(), parse(&int.cert.der).subject().as_raw());
    assert_eq!((issued.serial.clone(), issued.not_after), (p.serial.clone(), crate::pki::sign::utc_seconds(p.not_after)));
    assert_eq!(Serial::from_bytes(cert.raw_serial()), issued.serial);
    assert!(issued.pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert_eq!(issued.thumbprint.len(), 64);
}

#[test]
fn rsa_keys_add_key_encipherment_whatever_the_flag_says() {
    let root = test_root(KeyAlgorithm::EcP256);
    let name = subject("client");
    let (mut key, _) = generate_key(KeyAlgorithm::Rsa2048).unwrap();
    key.is_rsa = false;
    let issued = issue(&profile(Template::TlsClient, &name, &[], &[]), &key, &root.issuer()).unwrap();
    assert_eq!(key_usage(&parse(&issued.der)), (true, 1 | 4));
}

#[test]
fn tls_server_without_a_san_and_validity_past_the_issuer_are_refused() {
    let root = test_root(KeyAlgorithm::EcP256);
    let name = subject("web");
    let (key, _) = generate_key(KeyAlgorithm::EcP256).unwrap();
    let err = issue(&profile(Template::TlsServer, &name, &[], &[]), &key, &root.issuer()).unwrap_err();
    assert_eq!(err.to_string(), "TLS_SERVER needs at least one DNS name or IP address");
    let mut long = profile(Template::TlsClient, &name, &[], &[]);
    long.not_after = root.cert.not_after + time::Duration::seconds(1);
    assert!(matches!(issue(&long, &key, &root.issuer()), Err(Error::Validation(m)) if m.contains("issuer")));
    long.not_after = root.cert.not_after;
    assert!(issue(&long, &key, &root.issuer()).is_ok());
}

#[test]
fn weak_keys_and_non_ca_issuers_are_refused() {
    let root = test_root(KeyAlgorithm::EcP256);
    let name = subject("x");
    let p521 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let weak = LeafKey { spki_der: rcgen::PublicKeyData::subject_public_key_info(&p521), is_rsa: false };
    assert!(matches!(issue(&profile(Template::TlsClient, &name, &[], &[]), &weak, &root.issuer()), Err(Error::Validation(_))));
    let (key, _) = generate_key(KeyAlgorithm::EcP256).unwrap();
    let leaf_signer = signer(KeyAlgorithm::EcP256);
    let leaf_key = LeafKey { spki_der: rcgen::PublicKeyData::subject_public_key_info(&leaf_signer), is_rsa: false };
    let leaf = issue(&profile(Template::TlsClient, &name, &[], &[]), &leaf_key, &root.issuer()).unwrap();
    let not_a_ca = IssuerRef { cert_der: &leaf.der, signer: &leaf_signer, crl_distribution_point: None, ocsp_responder_url: None };
    let err = issue(&profile(Template::TlsClient, &name, &[], &[]), &key, &not_a_ca).unwrap_err();
    assert!(matches!(err, Error::Validation(m) if m.contains("not a CA")));
}

#[test]
fn generated_keys_match_their_algorithm_and_come_with_a_pkcs8_private_key() {
    for alg in [KeyAlgorithm::EcP256, KeyAlgorithm::EcP384, KeyAlgorithm::Rsa2048, KeyAlgorithm::Rsa3072] {
        let (key, private_pem) = generate_key(alg).unwrap();
        assert!(private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(key.is_rsa, alg.is_rsa());
        let reloaded = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&private_pem, alg.signature_algorithm()).unwrap();
        assert_eq!(rcgen::PublicKeyData::subject_public_key_info(&reloaded), key.spki_der);
        let accepted = crate::pki::keys::accept(&key.spki_der).unwrap();
        assert_eq!(rcgen::PublicKeyData::algorithm(&accepted), alg.signature_algorithm());
    }
}

#[test]
fn a_subject_email_is_repeated_as_an_rfc822_name_san() {
    let root = test_root(KeyAlgorithm::EcP256);
    let name = SubjectName::parse(SubjectName { email: Some("ops@example.com".into()), ..subject("signer") }).unwrap();
    let (key, _) = generate_key(KeyAlgorithm::EcP256).unwrap();
    let issued = issue(&profile(Template::CodeSigning, &name, &[], &[]), &key, &root.issuer()).unwrap();
    let cert = parse(&issued.der);
    let ParsedExtension::SubjectAlternativeName(san) = ext(&cert, "2.5.29.17").parsed_extension() else { panic!() };
    assert_eq!(san.general_names, [GeneralName::RFC822Name("ops@example.com")]);
    assert_eq!(cert.subject().iter_email().next().unwrap().as_str().unwrap(), "ops@example.com");
}
