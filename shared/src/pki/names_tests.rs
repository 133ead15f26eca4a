use super::*;

fn name(cn: &str) -> SubjectName {
    SubjectName { common_name: cn.into(), organization: None, organizational_unit: None, country: None, state: None, locality: None, email: None }
}

#[test]
fn subject_fields_are_trimmed_and_empty_optionals_become_none() {
    let parsed = SubjectName::parse(SubjectName {
        organization: Some("  Acme  ".into()),
        organizational_unit: Some("   ".into()),
        country: Some(" de ".into()),
        email: Some("pki@example.com".into()),
        ..name("  web  ")
    })
    .unwrap();
    assert_eq!(parsed.common_name, "web");
    assert_eq!(parsed.organization.as_deref(), Some("Acme"));
    assert_eq!(parsed.organizational_unit, None);
    assert_eq!(parsed.country.as_deref(), Some("DE"));
}

#[test]
fn subject_upper_bounds_of_rfc5280_appendix_a_are_enforced() {
    assert!(SubjectName::parse(name(&"a".repeat(64))).is_ok());
    assert!(SubjectName::parse(name(&"é".repeat(64))).is_ok());
    let too_long = [
        name(&"a".repeat(65)),
        SubjectName { organization: Some("o".repeat(65)), ..name("x") },
        SubjectName { organizational_unit: Some("o".repeat(65)), ..name("x") },
        SubjectName { state: Some("s".repeat(129)), ..name("x") },
        SubjectName { locality: Some("l".repeat(129)), ..name("x") },
        SubjectName { email: Some(format!("{}@example.com", "a".repeat(250))), ..name("x") },
    ];
    for bad in too_long {
        assert!(matches!(SubjectName::parse(bad.clone()), Err(Error::Validation(_))), "{bad:?} accepted");
    }
}

#[test]
fn missing_cn_bad_countries_control_characters_and_bad_emails_are_refused() {
    let bad = [
        name("   "),
        name("a\u{0}b"),
        name("line\nbreak"),
        SubjectName { country: Some("DEU".into()), ..name("x") },
        SubjectName { country: Some("D1".into()), ..name("x") },
        SubjectName { country: Some("É".into()), ..name("x") },
        SubjectName { email: Some("no-at-sign".into()), ..name("x") },
        SubjectName { email: Some("a@b@c.com".into()), ..name("x") },
        SubjectName { email: Some("a b@c.com".into()), ..name("x") },
        SubjectName { email: Some("a@localhost".into()), ..name("x") },
    ];
    for subject in bad {
        assert!(matches!(SubjectName::parse(subject.clone()), Err(Error::Validation(_))), "{subject:?} accepted");
    }
}

#[test]
fn the_rcgen_name_is_in_c_st_l_o_ou_cn_order_with_rfc5280_string_types() {
    let subject = SubjectName::parse(SubjectName {
        organization: Some("Acme".into()),
        organizational_unit: Some("Ops".into()),
        country: Some("us".into()),
        state: Some("CA".into()),
        locality: Some("SF".into()),
        email: Some("pki@example.com".into()),
        ..name("web")
    })
    .unwrap();
    let dn = subject.to_rcgen();
    let types: Vec<DnType> = dn.iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(
        types,
        [
            DnType::CountryName,
            DnType::StateOrProvinceName,
            DnType::LocalityName,
            DnType::OrganizationName,
            DnType::OrganizationalUnitName,
            DnType::CommonName,
            DnType::CustomDnType(EMAIL_ADDRESS.to_vec()),
        ]
    );
    assert!(matches!(dn.get(&DnType::CountryName), Some(DnValue::PrintableString(_))));
    assert!(matches!(dn.get(&DnType::CommonName), Some(DnValue::Utf8String(_))));
    assert!(matches!(dn.get(&DnType::CustomDnType(EMAIL_ADDRESS.to_vec())), Some(DnValue::Ia5String(_))));
}

#[test]
fn dns_names_are_lowercased_and_wildcards_allowed_only_as_a_whole_first_label() {
    assert_eq!(DnsName::parse("WWW.Example.COM").unwrap().as_str(), "www.example.com");
    assert_eq!(DnsName::parse("*.example.com").unwrap().as_str(), "*.example.com");
    assert_eq!(DnsName::parse("localhost").unwrap().as_str(), "localhost");
    assert_eq!(DnsName::parse("xn--bcher-kva.example").unwrap().as_str(), "xn--bcher-kva.example");
    assert!(DnsName::parse(&format!("{}.com", "a".repeat(63))).is_ok());
}

#[test]
fn dns_names_breaking_ldh_rules_or_lengths_are_refused() {
    let long = format!("{}.com", vec!["a".repeat(60); 5].join("."));
    let bad = [
        "", "example.com.", "a..b", "-a.com", "a-.com", "a_b.com", "*.com", "*", "w*.example.com", "a.*.example.com",
        "*.*.example.com", "1.2.3.4", "bücher.example", "a b.com", &long, &format!("{}.com", "a".repeat(64)),
    ];
    for raw in bad {
        assert!(matches!(DnsName::parse(raw), Err(Error::Validation(_))), "{raw:?} accepted");
    }
}
