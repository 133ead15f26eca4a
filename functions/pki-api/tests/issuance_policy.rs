//! Issuance policy (issue 9 item 7): roots sign leaves only when they opt in, per-authority
//! templates, DNS name patterns and maximum validity, and which URLs go where: an authority's
//! own policy URLs into its own certificate, its real CRL into what it signs.

#[macro_use]
mod common;

use common::*;
use serde_json::{json, Value};

on_both_backends! {
    a_root_signs_end_entity_certificates_only_when_its_policy_allows_leaf_issuance => root_leaves;
    an_authoritys_policy_limits_the_templates_dns_names_and_validity_it_issues => policy_limits;
    an_authoritys_policy_urls_go_into_its_own_certificate_and_what_it_signs_names_its_published_crl => policy_urls;
    an_admin_changes_an_authoritys_issuance_policy_and_issuance_follows_the_new_one_at_once => policy_change;
}

async fn put_policy(env: &Env, authority: &Value, key: &str, policy: Value) -> trustplane_core::testkit::Reply {
    env.request("PUT", &format!("/api/v1/authorities/{}/policy", id(authority)), Some(key), Some(&policy), None).await
}

async fn policy_change(env: Env) {
    let root = authority(&env, "ROOT", None, json!({})).await;
    let subject = env.subject("www.example.com").await;
    refused(&env.post(&issue_path(&root), request(&subject, "TLS_SERVER", "www.example.com", 30)).await, "allowLeafIssuance");
    let reader = env.key(&["pki:read"]).await;
    assert_eq!(put_policy(&env, &root, &reader, json!({ "allowLeafIssuance": true })).await.status, 403);
    let bad = put_policy(&env, &root, &env.admin, json!({ "maxValidityDays": 0 })).await;
    assert_eq!(bad.status, 400, "{}", bad.json());
    assert_eq!(bad.header("content-type"), Some("application/problem+json"));
    let baked = put_policy(&env, &root, &env.admin, json!({ "validityYears": 1 })).await;
    assert_eq!(baked.status, 400, "{}", baked.json());
    let opened = put_policy(&env, &root, &env.admin, json!({ "allowLeafIssuance": true, "allowedDnsNames": ["*.example.com"], "maxValidityDays": 30 })).await;
    assert_eq!(opened.status, 200, "{}", opened.json());
    assert_eq!(opened.json()["policy"]["allowLeafIssuance"], true);
    assert_eq!(env.get(&format!("/api/v1/authorities/{}", id(&root))).await.json()["policy"]["maxValidityDays"], 30);
    assert_eq!(env.post(&issue_path(&root), request(&subject, "TLS_SERVER", "www.example.com", 30)).await.status, 200);
    refused(&env.post(&issue_path(&root), request(&subject, "TLS_SERVER", "www.example.net", 30)).await, "www.example.net");
    refused(&env.post(&issue_path(&root), request(&subject, "TLS_SERVER", "www.example.com", 31)).await, "at most 30 days");
    assert_eq!(put_policy(&env, &root, &env.admin, json!({})).await.status, 200);
    refused(&env.post(&issue_path(&root), request(&subject, "TLS_SERVER", "www.example.com", 30)).await, "allowLeafIssuance");
    let unknown = env.request("PUT", "/api/v1/authorities/00000000-0000-4000-8000-000000000000/policy", Some(&env.admin), Some(&json!({})), None).await;
    assert_eq!(unknown.status, 404, "{}", unknown.json());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_policy_fixture_opens_a_root_to_leaf_issuance_through_the_lambda_event_path() {
    use trustplane_core::testkit::{fixture_text, replay_raw_in_process};
    let env = Env::local().await;
    let root = authority(&env, "ROOT", None, json!({})).await;
    let subs = [("API_KEY", env.admin.as_str()), ("AUTHORITY_ID", id(&root))];
    let changed = replay_raw_in_process(&env.app, &fixture_text("pki-api", "set-authority-policy", &subs)).await;
    assert_eq!(changed.status, 200, "{}", String::from_utf8_lossy(&changed.body));
    assert_eq!(changed.json()["policy"]["allowLeafIssuance"], true);
    assert_eq!(changed.json()["policy"]["maxValidityDays"], 90);
}

async fn authority(env: &Env, kind: &str, parent: Option<&Value>, policy: Value) -> Value {
    let subject = env.subject(&format!("{kind} CA")).await;
    let mut body = json!({ "subjectId": subject, "type": kind, "policy": policy });
    if let Some(parent) = parent {
        body["parentAuthorityId"] = json!(id(parent));
    }
    let reply = env.post("/api/v1/authorities", body).await;
    assert_eq!(reply.status, 201, "{}", reply.json());
    reply.json()
}

fn request(subject: &str, template: &str, dns: &str, days: u32) -> Value {
    json!({ "subjectId": subject, "template": template, "validityDays": days, "san": { "dnsNames": [dns] } })
}

fn refused(reply: &trustplane_core::testkit::Reply, detail: &str) {
    assert_eq!(reply.status, 422, "{}", reply.json());
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    assert!(reply.json()["detail"].as_str().unwrap().contains(detail), "{}", reply.json());
}

async fn root_leaves(env: Env) {
    let strict = authority(&env, "ROOT", None, json!({})).await;
    let subject = env.subject("www.example.com").await;
    refused(&env.post(&issue_path(&strict), request(&subject, "TLS_SERVER", "www.example.com", 30)).await, "allowLeafIssuance");
    assert_eq!(strict["policy"]["allowLeafIssuance"], false);
    let open = authority(&env, "ROOT", None, json!({ "allowLeafIssuance": true })).await;
    assert_eq!(env.post(&issue_path(&open), request(&subject, "TLS_SERVER", "www.example.com", 30)).await.status, 200);
    let int = authority(&env, "INTERMEDIATE", Some(&strict), json!({})).await;
    assert_eq!(env.post(&issue_path(&int), request(&subject, "TLS_SERVER", "www.example.com", 30)).await.status, 200);
}

async fn policy_limits(env: Env) {
    let root = authority(&env, "ROOT", None, json!({})).await;
    let policy = json!({ "allowedTemplates": ["TLS_SERVER"], "allowedDnsNames": ["*.Example.com", "example.org"], "maxValidityDays": 30 });
    let int = authority(&env, "INTERMEDIATE", Some(&root), policy).await;
    assert_eq!(int["policy"]["allowedDnsNames"], json!(["*.example.com", "example.org"]));
    let subject = env.subject("www.example.com").await;
    let path = issue_path(&int);
    refused(&env.post(&path, request(&subject, "TLS_CLIENT", "www.example.com", 30)).await, "template TLS_CLIENT");
    refused(&env.post(&path, request(&subject, "TLS_SERVER", "www.example.net", 30)).await, "www.example.net");
    refused(&env.post(&path, request(&subject, "TLS_SERVER", "example.com", 30)).await, "example.com");
    refused(&env.post(&path, request(&subject, "TLS_SERVER", "www.example.com", 31)).await, "at most 30 days");
    assert_eq!(env.post(&path, request(&subject, "TLS_SERVER", "a.b.example.com", 30)).await.status, 200);
    assert_eq!(env.post(&path, request(&subject, "TLS_SERVER", "example.org", 1)).await.status, 200);
    let bad = json!({ "subjectId": subject, "type": "INTERMEDIATE", "parentAuthorityId": id(&root), "policy": { "maxValidityDays": 0 } });
    assert_eq!(env.post("/api/v1/authorities", bad).await.status, 400);
}

fn extension_text(files: &Files, name: &str, cert_pem: &str) -> String {
    files.write(name, cert_pem);
    let (ok, text) = files.openssl(&["x509", "-in", name, "-noout", "-ext", "crlDistributionPoints,authorityInfoAccess"]);
    assert!(ok, "{text}");
    text
}

async fn policy_urls(env: Env) {
    let root = authority(&env, "ROOT", None, json!({})).await;
    let own = json!({ "crlDistributionPoint": "http://pki.example.net/crl/issuing.crl", "ocspResponderUrl": "http://ocsp.example.net/issuing" });
    let int = authority(&env, "INTERMEDIATE", Some(&root), own).await;
    let plain = authority(&env, "INTERMEDIATE", Some(&root), json!({})).await;
    let base = env.state.config.crl_base_url.trim_end_matches('/').to_owned();
    let files = Files::new();
    let int_text = extension_text(&files, "int.pem", pem(&int));
    assert!(int_text.contains("URI:http://pki.example.net/crl/issuing.crl") && int_text.contains("OCSP - URI:http://ocsp.example.net/issuing"), "{int_text}");
    let plain_text = extension_text(&files, "plain.pem", pem(&plain));
    assert!(plain_text.contains(&format!("URI:{base}/crl/{}.crl", id(&root))) && !plain_text.contains("OCSP"), "{plain_text}");
    let leaf = env.leaf(&int).await;
    let leaf_text = extension_text(&files, "leaf.pem", pem(&leaf));
    assert!(leaf_text.contains(&format!("URI:{base}/crl/{}.crl", id(&int))), "{leaf_text}");
    assert!(!leaf_text.contains("example.net"), "what the intermediate signs names its published CRL only: {leaf_text}");
    assert_eq!(int["crlUrl"], format!("{base}/crl/{}.crl", id(&int)));
}
