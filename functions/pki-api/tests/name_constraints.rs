//! Name constraints (RFC 5280 §4.2.1.10): an authority's `policy.nameConstraints` go into its
//! CA certificate as a critical extension, issuance below it (at any depth) refuses names
//! outside them with 422 before signing, and OpenSSL rejects a certificate outside them even
//! when the CA key signs it directly (built with openssl from the embedded backend's key file).

#[macro_use]
mod common;

use common::*;
use serde_json::{json, Value};

on_both_backends! {
    names_outside_an_authoritys_constraints_are_refused_below_it_at_any_depth => constrained;
}

async fn authority(env: &Env, parent: &Value, policy: Value) -> Value {
    let subject = env.subject("Constrained CA").await;
    let reply = env.post("/api/v1/authorities", json!({ "subjectId": subject, "type": "INTERMEDIATE", "parentAuthorityId": id(parent), "policy": policy })).await;
    assert_eq!(reply.status, 201, "{}", reply.json());
    reply.json()
}

fn leaf(subject: &str, dns: &[&str], ips: &[&str]) -> Value {
    json!({ "subjectId": subject, "template": "TLS_SERVER", "validityDays": 30, "san": { "dnsNames": dns, "ipAddresses": ips } })
}

async fn constrained(env: Env) {
    let root = env.root(("EC", 256)).await;
    let constraints = json!({ "permittedDnsNames": ["Example.com"], "excludedDnsNames": ["secret.example.com"], "permittedIpRanges": ["10.0.0.0/8"] });
    let int = authority(&env, &root, json!({ "nameConstraints": constraints })).await;
    assert_eq!(int["policy"]["nameConstraints"]["permittedDnsNames"], json!(["example.com"]));
    let files = Files::new();
    files.write("int.pem", pem(&int));
    let (ok, text) = files.openssl(&["x509", "-in", "int.pem", "-noout", "-ext", "nameConstraints"]);
    assert!(ok && text.contains("critical") && text.contains("DNS:example.com") && text.contains("DNS:secret.example.com") && text.contains("IP:10.0.0.0/255.0.0.0"), "{text}");

    let subject = env.subject("www.example.com").await;
    assert_eq!(env.post(&issue_path(&int), leaf(&subject, &["www.example.com"], &["10.1.2.3"])).await.status, 200);
    for (dns, ips, named) in [(vec!["www.example.org"], vec![], "www.example.org"), (vec!["x.secret.example.com"], vec![], "x.secret.example.com"), (vec!["www.example.com"], vec!["192.168.1.1"], "192.168.1.1")] {
        let refused = env.post(&issue_path(&int), leaf(&subject, &dns, &ips)).await;
        assert_eq!(refused.status, 422, "{}", refused.json());
        assert!(refused.json()["detail"].as_str().unwrap().contains(named), "{}", refused.json());
    }
    let grandchild = authority(&env, &int, json!({ "validityYears": 1 })).await;
    let below = env.post(&issue_path(&grandchild), leaf(&subject, &["www.example.org"], &[])).await;
    assert_eq!(below.status, 422, "the parent's constraints bind a child without its own: {}", below.json());
    assert_eq!(env.post(&issue_path(&grandchild), leaf(&subject, &["api.example.com"], &[])).await.status, 200);
    let bad = env.post("/api/v1/authorities", json!({ "subjectId": subject, "type": "INTERMEDIATE", "parentAuthorityId": id(&root), "policy": { "nameConstraints": { "permittedIpRanges": ["10.0.0.0"] } } })).await;
    assert_eq!(bad.status, 400, "{}", bad.json());
    if env.state.config.backend == trustplane_core::config::Backend::Local {
        openssl_rejects_a_leaf_outside_the_constraints(&env, &root, &int, &files).await;
    }
}

/// Signs a certificate for www.example.org with the intermediate's own key file (the embedded
/// custody), bypassing Trustplane's check, and shows OpenSSL refuses it.
async fn openssl_rejects_a_leaf_outside_the_constraints(env: &Env, root: &Value, int: &Value, files: &Files) {
    let record = env.pki().get_authority(id(int)).await.unwrap();
    let key_file = env.state.config.data_dir.join("keys").join(&record.key.key_ref);
    files.write("root.pem", pem(root)).write("int.key", std::fs::read(&key_file).unwrap());
    files.write("ext.cnf", "subjectAltName=DNS:www.example.org\nbasicConstraints=CA:FALSE\n");
    for args in [
        &["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key", "-subj", "/CN=www.example.org", "-out", "leaf.csr"][..],
        &["x509", "-req", "-in", "leaf.csr", "-CA", "int.pem", "-CAkey", "int.key", "-CAcreateserial", "-days", "30", "-extfile", "ext.cnf", "-out", "leaf.pem"][..],
    ] {
        let (ok, text) = files.openssl(args);
        assert!(ok, "{text}");
    }
    let (ok, text) = files.openssl(&["verify", "-CAfile", "root.pem", "-untrusted", "int.pem", "leaf.pem"]);
    assert!(!ok && text.contains("permitted subtree violation"), "{text}");
}
