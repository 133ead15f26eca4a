//! Seed 004 subjects, authorities, chains, issuance and the inventory through `pki_api::app`,
//! each scenario on the embedded backend (`local::…`) and on the AWS adapters against moto
//! (`moto::…`), checked with OpenSSL.

#[macro_use]
mod common;

use common::*;
use serde_json::{json, Value};

on_both_backends! {
    an_ec_p256_hierarchy_issues_from_a_csr_a_leaf_openssl_verifies => |env| hierarchy_verifies(env, ("EC", 256));
    an_ec_p384_hierarchy_issues_from_a_csr_a_leaf_openssl_verifies => |env| hierarchy_verifies(env, ("EC", 384));
    an_rsa_2048_hierarchy_issues_from_a_csr_a_leaf_openssl_verifies => |env| hierarchy_verifies(env, ("RSA", 2048));
    a_ca_child_under_a_path_len_zero_parent_is_refused_with_422 => path_len_zero_parent_refuses_ca_children;
    authority_policy_rules_are_enforced_with_400_and_422 => authority_rules;
    issuance_without_a_csr_returns_a_matching_private_key_that_is_never_stored => generated_key_matches_and_is_not_stored;
    unknown_subjects_are_422_and_unknown_issuers_404 => unknown_references;
    a_reader_key_gets_403_on_every_post_and_no_key_gets_401 => scopes_are_enforced;
    the_chain_is_authority_first_root_last_in_pem_and_readable_as_p7b => chain_order_and_p7b;
    the_inventory_filters_by_issuer_status_subject_and_expiry_and_pages => inventory_filters_and_pages;
    issuance_input_is_validated_with_400_and_422 => issuance_rules;
}

async fn hierarchy_verifies(env: Env, spec: (&str, u32)) {
    let root = env.root(spec).await;
    let int = env.intermediate(&root, spec).await;
    assert_eq!(int["hierarchy"], json!({ "isRoot": false, "pathLenConstraint": 0 }));
    assert_eq!(int["keySpec"], json!({ "algorithm": spec.0, "size": spec.1 }));
    let files = Files::new();
    let (ok, out) = files.openssl(&["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=ignored.example", "-keyout", "leaf.key", "-out", "leaf.csr"]);
    assert!(ok, "{out}");
    let subject = env.subject("www.example.com").await;
    let body = json!({
        "subjectId": subject, "template": "TLS_SERVER", "validityDays": 30,
        "san": { "dnsNames": ["www.example.com"], "ipAddresses": ["192.0.2.10"] }, "csr": files.read("leaf.csr"),
    });
    let reply = env.post(&issue_path(&int), body).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let issued = reply.json();
    assert_eq!(issued["format"], "PEM");
    assert!(issued.get("privateKeyContent").is_none(), "a CSR's key is the caller's");
    assert_eq!(issued["chain"], json!([pem(&int), pem(&root)]));
    files.write("root.pem", pem(&root)).write("int.pem", pem(&int)).write("leaf.pem", pem(&issued));
    let (ok, out) = files.openssl(&["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", "root.pem", "-untrusted", "int.pem", "leaf.pem"]);
    assert!(ok && out.contains("leaf.pem: OK"), "{spec:?}: {out}");
    let (ok, cert_key) = files.openssl(&["x509", "-in", "leaf.pem", "-noout", "-pubkey"]);
    assert!(ok, "{cert_key}");
    let (ok, csr_key) = files.openssl(&["pkey", "-in", "leaf.key", "-pubout"]);
    assert!(ok, "{csr_key}");
    assert_eq!(cert_key, csr_key, "the certificate is for the CSR's key");
    let (ok, subject_line) = files.openssl(&["x509", "-in", "leaf.pem", "-noout", "-subject"]);
    assert!(ok, "{subject_line}");
    assert!(subject_line.contains("www.example.com") && !subject_line.contains("ignored"), "{subject_line}");
}

async fn path_len_zero_parent_refuses_ca_children(env: Env) {
    let root = env.root(("EC", 256)).await;
    let int = env.intermediate(&root, ("EC", 256)).await;
    let subject = env.subject("Sub CA").await;
    let body = json!({ "subjectId": subject, "type": "INTERMEDIATE", "parentAuthorityId": id(&int), "policy": { "validityYears": 1 } });
    let reply = env.post("/api/v1/authorities", body).await;
    assert_eq!(reply.status, 422, "{}", reply.json());
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    let detail = reply.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("pathLenConstraint 0") && detail.contains("cannot sign a CA"), "{detail}");
}

async fn authority_rules(env: Env) {
    let subject = env.subject("Rules CA").await;
    let root_body = |policy: Value, spec: Value| json!({ "subjectId": subject, "type": "ROOT", "keySpec": spec, "policy": policy });
    let ec = json!({ "algorithm": "EC", "size": 256 });
    for (policy, spec) in [
        (json!({ "validityYears": 31 }), ec.clone()),
        (json!({ "validityYears": 0 }), ec.clone()),
        (json!({ "validityYears": 5 }), json!({ "algorithm": "EC", "size": 521 })),
        (json!({ "validityYears": 5 }), json!({ "algorithm": "RSA", "size": 1024 })),
        (json!({ "validityYears": 5, "crlDistributionPoint": "ftp://x" }), ec.clone()),
    ] {
        let reply = env.post("/api/v1/authorities", root_body(policy.clone(), spec.clone())).await;
        assert_eq!(reply.status, 400, "{policy} {spec}: {}", reply.json());
    }
    let missing_parent = json!({ "subjectId": subject, "type": "INTERMEDIATE" });
    assert_eq!(env.post("/api/v1/authorities", missing_parent).await.status, 400);
    let reply = env.post("/api/v1/authorities", root_body(json!({ "validityYears": 2, "pathLenConstraint": 1 }), ec.clone())).await;
    assert_eq!(reply.status, 201);
    let root = reply.json();
    assert_eq!(root["crlUrl"], format!("{}/crl/{}.crl", env.state.config.crl_base_url, id(&root)));
    let child = |policy: Value| json!({ "subjectId": subject, "type": "INTERMEDIATE", "parent": id(&root), "policy": policy });
    let too_long = env.post("/api/v1/authorities", child(json!({ "validityYears": 3 }))).await;
    assert_eq!(too_long.status, 422, "child outlasting its parent: {}", too_long.json());
    let same_len = env.post("/api/v1/authorities", child(json!({ "validityYears": 1, "pathLenConstraint": 1 }))).await;
    assert_eq!(same_len.status, 422, "{}", same_len.json());
    let unknown_parent = json!({ "subjectId": subject, "type": "INTERMEDIATE", "parentAuthorityId": uuid::Uuid::now_v7().to_string() });
    assert_eq!(env.post("/api/v1/authorities", unknown_parent).await.status, 422);
    let ok = env.post("/api/v1/authorities", child(json!({ "validityYears": 1 }))).await;
    assert_eq!(ok.status, 201, "{}", ok.json());
    assert_eq!(ok.json()["hierarchy"]["pathLenConstraint"], 0, "an omitted pathLen is the parent's − 1");
}

async fn generated_key_matches_and_is_not_stored(env: Env) {
    let root = env.root(("EC", 256)).await;
    let int = env.intermediate(&root, ("EC", 256)).await;
    let leaf = env.leaf(&int).await;
    let key = leaf["privateKeyContent"].as_str().expect("privateKeyContent without a CSR").to_owned();
    let files = Files::new();
    files.write("leaf.pem", pem(&leaf)).write("leaf.key", &key);
    let (ok, from_key) = files.openssl(&["pkey", "-in", "leaf.key", "-pubout"]);
    assert!(ok, "{from_key}");
    let (ok, from_cert) = files.openssl(&["x509", "-in", "leaf.pem", "-noout", "-pubkey"]);
    assert!(ok, "{from_cert}");
    assert_eq!(from_key, from_cert);
    let shown = env.get(&format!("/api/v1/certificates/{}", id(&leaf))).await;
    assert_eq!(shown.status, 200);
    assert!(shown.json().get("privateKeyContent").is_none());
    let persisted = env.persisted().await;
    assert!(!persisted.contains("PRIVATE KEY"));
    for secret in common::pkcs8_secrets(&key) {
        for rendering in common::renderings(&secret) {
            assert!(!persisted.contains(&rendering), "the generated key was stored");
        }
    }
}

async fn unknown_references(env: Env) {
    let nobody = uuid::Uuid::now_v7().to_string();
    let reply = env.post("/api/v1/authorities", json!({ "subjectId": nobody, "type": "ROOT" })).await;
    assert_eq!(reply.status, 422, "{}", reply.json());
    assert!(reply.json()["detail"].as_str().unwrap().contains("subjectId"));
    let root = env.root(("EC", 256)).await;
    let body = json!({ "subjectId": nobody, "template": "TLS_CLIENT", "validityDays": 10 });
    assert_eq!(env.post(&issue_path(&root), body.clone()).await.status, 422);
    let missing_issuer = json!({ "id": uuid::Uuid::now_v7().to_string() });
    assert_eq!(env.post(&issue_path(&missing_issuer), body).await.status, 404);
    for path in [format!("/api/v1/subjects/{nobody}"), format!("/api/v1/authorities/{nobody}"), format!("/api/v1/authorities/{nobody}/chain"), format!("/api/v1/issuers/{nobody}/crl")] {
        assert_eq!(env.get(&path).await.status, 404, "{path}");
    }
}

async fn scopes_are_enforced(env: Env) {
    let reader = env.key(&["pki:read"]).await;
    let issuer_key = env.key(&["pki:issue"]).await;
    let root = env.root(("EC", 256)).await;
    let leaf = env.leaf(&root).await;
    let subject = env.subject("scoped").await;
    let posts = [
        ("/api/v1/subjects".to_owned(), json!({ "commonName": "x" })),
        ("/api/v1/authorities".to_owned(), json!({ "subjectId": subject, "type": "ROOT" })),
        (issue_path(&root), json!({ "subjectId": subject, "template": "TLS_CLIENT" })),
        (format!("/api/v1/certificates/{}/revocation", id(&leaf)), json!({ "reason": "UNSPECIFIED" })),
    ];
    for (path, body) in &posts {
        let reply = env.request("POST", path, Some(&reader), Some(body), None).await;
        assert_eq!(reply.status, 403, "{path}");
        assert_eq!(reply.json()["status"], 403);
        assert_eq!(env.request("POST", path, None, Some(body), None).await.status, 401, "{path}");
    }
    let authority = env.request("POST", &posts[1].0, Some(&issuer_key), Some(&posts[1].1), None).await;
    assert_eq!(authority.status, 403, "pki:issue does not create authorities");
    for path in ["/api/v1/subjects", "/api/v1/authorities", "/api/v1/certificates"] {
        assert_eq!(env.request("GET", path, Some(&reader), None, None).await.status, 200, "{path}");
        assert_eq!(env.request("GET", path, None, None, None).await.status, 401, "{path}");
    }
}

async fn chain_order_and_p7b(env: Env) {
    let root = env.root(("RSA", 2048)).await;
    let int = env.intermediate(&root, ("EC", 256)).await;
    let chain_path = format!("/api/v1/authorities/{}/chain", id(&int));
    let pem_chain = env.get(&chain_path).await;
    assert_eq!(pem_chain.header("content-type"), Some("application/pem-certificate-chain"));
    assert_eq!(String::from_utf8(pem_chain.body.clone()).unwrap(), format!("{}{}", pem(&int), pem(&root)));
    let p7b = env.get_as(&chain_path, "application/pkcs7-mime").await;
    assert_eq!((p7b.status.as_u16(), p7b.header("content-type")), (200, Some("application/pkcs7-mime")));
    let files = Files::new();
    files.write("chain.p7b", &p7b.body);
    let (ok, out) = files.openssl(&["pkcs7", "-inform", "DER", "-in", "chain.p7b", "-print_certs", "-noout"]);
    assert!(ok, "{out}");
    let subjects: Vec<&str> = out.lines().filter(|l| l.starts_with("subject=")).collect();
    assert_eq!(subjects.len(), 2, "{out}");
    assert!(subjects[0].contains("Test Issuing CA") && subjects[1].contains("Test Root CA"), "{out}");
    let root_chain = env.get(&format!("/api/v1/authorities/{}/chain", id(&root))).await;
    assert_eq!(String::from_utf8(root_chain.body).unwrap(), pem(&root));
}

async fn inventory_filters_and_pages(env: Env) {
    let root = env.root(("EC", 256)).await;
    let int = env.intermediate(&root, ("EC", 256)).await;
    let certs = [env.leaf(&int).await, env.leaf(&int).await, env.leaf(&root).await];
    assert_eq!(revoke(&env, &certs[1], "SUPERSEDED").await.status, 202);
    let list = |query: String| {
        let env = &env;
        async move {
            let reply = env.get(&format!("/api/v1/certificates?{query}")).await;
            assert_eq!(reply.status, 200, "{query}: {}", reply.json());
            reply.json()
        }
    };
    let ids = |v: &Value| v["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(&list(format!("issuerId={}", id(&int))).await), vec![id(&certs[0]), id(&certs[1])]);
    assert_eq!(ids(&list("status=REVOKED".into()).await), vec![id(&certs[1])]);
    assert_eq!(ids(&list("status=valid".into()).await).len(), 2);
    assert_eq!(ids(&list("status=EXPIRED".into()).await).len(), 0);
    let shown = env.get(&format!("/api/v1/certificates/{}", id(&certs[2]))).await.json();
    assert_eq!(ids(&list(format!("subjectId={}", shown["subjectId"].as_str().unwrap())).await), vec![id(&certs[2])]);
    assert_eq!(ids(&list("expiringBefore=2000-01-01T00:00:00Z".into()).await).len(), 0);
    assert_eq!(ids(&list("expiringBefore=2100-01-01T00:00:00Z".into()).await).len(), 3);
    let first = list("limit=2".into()).await;
    assert_eq!(ids(&first).len(), 2);
    let cursor = first["nextCursor"].as_str().expect("a cursor").to_owned();
    let second = list(format!("limit=2&cursor={cursor}")).await;
    let mut all = [ids(&first), ids(&second)].concat();
    all.sort();
    let mut expected: Vec<String> = certs.iter().map(|c| id(c).to_owned()).collect();
    expected.sort();
    assert_eq!(all, expected);
    for bad in ["limit=0", "limit=101", "status=LOST", "expiringBefore=tomorrow", "cursor=%21%21"] {
        assert_eq!(env.get(&format!("/api/v1/certificates?{bad}")).await.status, 400, "{bad}");
    }
    let subjects = env.get("/api/v1/subjects?limit=1").await.json();
    assert_eq!((subjects["data"].as_array().unwrap().len(), subjects["nextCursor"].is_string()), (1, true));
    assert_eq!(env.get("/api/v1/authorities").await.json()["data"].as_array().unwrap().len(), 2);
}

async fn issuance_rules(env: Env) {
    let root = env.root(("EC", 256)).await;
    let subject = env.subject("rules.example").await;
    let base = json!({ "subjectId": subject, "template": "TLS_SERVER", "validityDays": 30, "san": { "dnsNames": ["rules.example"] } });
    let with = |patch: Value| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().extend(patch.as_object().unwrap().clone());
        body
    };
    for patch in [
        json!({ "template": "PUPPET_AGENT" }),
        json!({ "template": "EMAIL" }),
        json!({ "validityDays": 0 }),
        json!({ "validityDays": 3651 }),
        json!({ "san": { "dnsNames": ["bad name!"] } }),
        json!({ "san": { "dnsNames": ["ok.example"], "ipAddresses": ["300.1.1.1"] } }),
        json!({ "san": {} }),
        json!({ "csr": "-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE REQUEST-----\n" }),
    ] {
        let reply = env.post(&issue_path(&root), with(patch.clone())).await;
        assert_eq!(reply.status, 400, "{patch}: {}", reply.json());
    }
    let int = env.intermediate(&root, ("EC", 256)).await;
    let outlasting = env.post(&issue_path(&int), with(json!({ "validityDays": 3650 }))).await;
    assert_eq!(outlasting.status, 422, "longer than the issuer's remaining validity: {}", outlasting.json());
    let client = env.post(&issue_path(&int), with(json!({ "template": "TLS_CLIENT", "san": {} }))).await;
    assert_eq!(client.status, 200, "{}", client.json());
}
