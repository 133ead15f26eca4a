//! URI name constraints (RFC 5280 §4.2.1.10): `permittedUris`/`excludedUris` (a host, or
//! `.domain` for hosts below it) go into the CA certificate's critical NameConstraints,
//! issuance below the authority refuses a URI SAN outside them with 422 at any depth, and
//! OpenSSL accepts a leaf whose URI is inside them and refuses one signed outside them with
//! the CA's own key (the embedded backend's key file).

#[macro_use]
mod common;

use common::*;
use serde_json::{json, Value};

on_both_backends! {
    uris_outside_an_authoritys_uri_constraints_are_refused_by_trustplane_and_by_openssl => constrained;
}

async fn authority(env: &Env, parent: &Value, policy: Value) -> Value {
    let subject = env.subject("Mesh CA").await;
    let reply = env.post("/api/v1/authorities", json!({ "subjectId": subject, "type": "INTERMEDIATE", "parentAuthorityId": id(parent), "policy": policy })).await;
    assert_eq!(reply.status, 201, "{}", reply.json());
    reply.json()
}

fn leaf(subject: &str, uris: &[&str]) -> Value {
    json!({ "subjectId": subject, "template": "TLS_CLIENT", "validityDays": 30, "san": { "uris": uris } })
}

async fn constrained(env: Env) {
    let root = env.root(("EC", 256)).await;
    let constraints = json!({ "permittedUris": ["Svc.Example.com", ".mesh.example.com"], "excludedUris": [".legacy.mesh.example.com"] });
    let int = authority(&env, &root, json!({ "nameConstraints": constraints })).await;
    assert_eq!(int["policy"]["nameConstraints"]["permittedUris"], json!(["svc.example.com", ".mesh.example.com"]));
    let files = Files::new();
    files.write("root.pem", pem(&root)).write("int.pem", pem(&int));
    let (ok, text) = files.openssl(&["x509", "-in", "int.pem", "-noout", "-ext", "nameConstraints"]);
    assert!(ok && text.contains("critical") && text.contains("URI:svc.example.com") && text.contains("URI:.mesh.example.com") && text.contains("URI:.legacy.mesh.example.com"), "{text}");

    let subject = env.subject("workload").await;
    let inside = env.post(&issue_path(&int), leaf(&subject, &["spiffe://a.mesh.example.com/ns/prod/sa/web"])).await;
    assert_eq!(inside.status, 200, "{}", inside.json());
    files.write("inside.pem", inside.json()["certificateContent"].as_str().unwrap());
    let (ok, text) = files.openssl(&["x509", "-in", "inside.pem", "-noout", "-ext", "subjectAltName"]);
    assert!(ok && text.contains("URI:spiffe://a.mesh.example.com/ns/prod/sa/web"), "{text}");
    let (ok, text) = files.openssl(&["verify", "-CAfile", "root.pem", "-untrusted", "int.pem", "inside.pem"]);
    assert!(ok && text.contains("inside.pem: OK"), "{text}");
    let stored = env.get(&format!("/api/v1/certificates/{}", id(&inside.json()))).await.json();
    assert_eq!(stored["san"]["uris"], json!(["spiffe://a.mesh.example.com/ns/prod/sa/web"]));

    for uri in ["https://example.com/", "spiffe://mesh.example.com/x", "https://x.legacy.mesh.example.com/", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"] {
        let refused = env.post(&issue_path(&int), leaf(&subject, &[uri])).await;
        assert_eq!(refused.status, 422, "{uri}: {}", refused.json());
        assert!(refused.json()["detail"].as_str().unwrap().contains(uri), "{}", refused.json());
    }
    let grandchild = authority(&env, &int, json!({ "validityYears": 1 })).await;
    let below = env.post(&issue_path(&grandchild), leaf(&subject, &["https://www.example.org/"])).await;
    assert_eq!(below.status, 422, "the parent's URI constraints bind a child without its own: {}", below.json());
    assert_eq!(env.post(&issue_path(&grandchild), leaf(&subject, &["https://svc.example.com:8443/api"])).await.status, 200);
    let bad = env.post("/api/v1/authorities", json!({ "subjectId": subject, "type": "INTERMEDIATE", "parentAuthorityId": id(&root), "policy": { "nameConstraints": { "permittedUris": ["https://example.com/"] } } })).await;
    assert_eq!(bad.status, 400, "{}", bad.json());
    if env.state.config.backend == trustplane_core::config::Backend::Local {
        openssl_rejects_a_leaf_with_a_uri_outside_the_constraints(&env, &int, &files).await;
    }
}

/// Signs a certificate naming https://www.example.org/ with the intermediate's own key file,
/// bypassing Trustplane's check, and shows OpenSSL refuses it.
async fn openssl_rejects_a_leaf_with_a_uri_outside_the_constraints(env: &Env, int: &Value, files: &Files) {
    let record = env.pki().get_authority(id(int)).await.unwrap();
    let key_file = env.state.config.data_dir.join("keys").join(&record.key.key_ref);
    files.write("int.key", std::fs::read(&key_file).unwrap());
    files.write("ext.cnf", "subjectAltName=URI:https://www.example.org/\nbasicConstraints=CA:FALSE\n");
    for args in [
        &["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key", "-subj", "/CN=workload", "-out", "leaf.csr"][..],
        &["x509", "-req", "-in", "leaf.csr", "-CA", "int.pem", "-CAkey", "int.key", "-CAcreateserial", "-days", "30", "-extfile", "ext.cnf", "-out", "outside.pem"][..],
    ] {
        let (ok, text) = files.openssl(args);
        assert!(ok, "{text}");
    }
    let (ok, text) = files.openssl(&["verify", "-CAfile", "root.pem", "-untrusted", "int.pem", "outside.pem"]);
    assert!(!ok && text.contains("permitted subtree violation"), "{text}");
}
