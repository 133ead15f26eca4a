use super::*;

fn dns(value: &str) -> Identifier {
    Identifier { kind: "dns".into(), value: value.into() }
}

fn order(status: OrderStatus, expires_in: Duration) -> OrderRecord {
    let now = crate::clock::now();
    OrderRecord {
        id: "o".into(),
        authority_id: "a".into(),
        account_id: "c".into(),
        status,
        identifiers: vec![dns("a.example.com")],
        authorizations: vec!["z".into()],
        expires: now + expires_in,
        certificate_id: None,
        error: None,
        created_at: now,
    }
}

fn authz(status: AuthzStatus) -> AuthzRecord {
    AuthzRecord {
        id: "z".into(),
        authority_id: "a".into(),
        account_id: "c".into(),
        order_id: "o".into(),
        identifier: dns("a.example.com"),
        status,
        expires: crate::clock::now() + Duration::days(1),
        challenge: ChallengeRecord { token: "t".into(), status: ChallengeStatus::Pending, validated: None, error: None },
    }
}

#[test]
fn orders_name_dns_identifiers_only_once_each_and_never_wildcards() {
    let names = dns_names(&[dns("A.example.com"), dns("a.example.com"), dns("b.example.com")]).unwrap();
    assert_eq!(names.iter().map(DnsName::as_str).collect::<Vec<_>>(), ["a.example.com", "b.example.com"]);
    assert_eq!(dns_names(&[]).unwrap_err().code(), Some("malformed"));
    assert_eq!(dns_names(&[Identifier { kind: "ip".into(), value: "192.0.2.1".into() }]).unwrap_err().code(), Some("unsupportedIdentifier"));
    for refused in ["*.example.com", "exa mple.com", "", " a.example.com"] {
        assert_eq!(dns_names(&[dns(refused)]).unwrap_err().code(), Some("rejectedIdentifier"), "{refused:?}");
    }
    let many: Vec<Identifier> = (0..=MAX_IDENTIFIERS).map(|i| dns(&format!("h{i}.example.com"))).collect();
    assert_eq!(dns_names(&many).unwrap_err().code(), Some("malformed"));
}

#[test]
fn an_order_is_ready_once_every_authorization_is_valid_and_invalid_once_one_fails_or_it_expires() {
    let now = crate::clock::now();
    let pending = order(OrderStatus::Pending, Duration::days(1));
    assert_eq!(derive(&pending, &[authz(AuthzStatus::Pending)], now), OrderStatus::Pending);
    assert_eq!(derive(&pending, &[authz(AuthzStatus::Valid)], now), OrderStatus::Ready);
    assert_eq!(derive(&pending, &[authz(AuthzStatus::Valid), authz(AuthzStatus::Invalid)], now), OrderStatus::Invalid);
    assert_eq!(derive(&pending, &[authz(AuthzStatus::Deactivated)], now), OrderStatus::Invalid);
    assert_eq!(derive(&order(OrderStatus::Pending, Duration::seconds(-1)), &[authz(AuthzStatus::Valid)], now), OrderStatus::Invalid);
    assert_eq!(derive(&order(OrderStatus::Valid, Duration::seconds(-1)), &[authz(AuthzStatus::Valid)], now), OrderStatus::Valid, "a stored outcome stands");
}
