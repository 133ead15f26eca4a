//! The group's OpenAPI 3.1 document (`/openapi.json`, `/openapi/acme-api.json`) against what
//! the server answers: a whole client session, its refusals and the operators' routes, each
//! answer checked for a status the document declares for its operation (not only through
//! `default`), that status's media type and schema, and its declared headers.

mod support;

use base64::Engine;
use serde_json::{json, Value};
use support::{Backend, Client, Exchange};
use trustplane_core::services::acme::test_signer::TestKey;
use trustplane_core::testkit::{call, mint_key};

async fn document(b: &Backend) -> Value {
    let app = acme_api::app(b.state.clone());
    let get = |path: &'static str| call(&app, http::Request::get(path).body(String::new()).unwrap());
    let (doc, group) = (get("/openapi.json").await, get("/openapi/acme-api.json").await);
    assert_eq!((doc.status.as_u16(), doc.header("content-type")), (200, Some("application/json")));
    assert_eq!(doc.json(), group.json());
    doc.json()
}

/// The `(path template, operation)` of the document that `method path` is.
fn operation<'d>(doc: &'d Value, method: &str, path: &str) -> Option<(&'d str, &'d Value)> {
    let segments: Vec<&str> = path.split('?').next()?.split('/').collect();
    doc["paths"].as_object()?.iter().find_map(|(template, item)| {
        let parts: Vec<&str> = template.split('/').collect();
        let fits = parts.len() == segments.len() && parts.iter().zip(&segments).all(|(p, s)| p == s || (p.starts_with('{') && !s.is_empty()));
        fits.then_some((template.as_str(), &item[method.to_ascii_lowercase()])).filter(|(_, op)| op.is_object())
    })
}

fn resolve<'d>(doc: &'d Value, schema: &'d Value) -> &'d Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

fn has_type(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// Where `value` departs from `schema`: types, enums, required and undeclared members.
fn departures(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let schema = resolve(doc, schema);
    if let Some(options) = schema["oneOf"].as_array() {
        let fits = options.iter().any(|option| departures(doc, option, value, at).is_empty());
        return if fits { vec![] } else { vec![format!("{at}: {value} fits no oneOf")] };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() && !types.iter().any(|kind| has_type(kind, value)) {
        return vec![format!("{at}: {value} is not {types:?}")];
    }
    if schema["enum"].as_array().is_some_and(|values| !values.contains(value)) {
        return vec![format!("{at}: {value} is not one of {}", schema["enum"])];
    }
    let mut found = Vec::new();
    if let Value::Object(members) = value {
        let required = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str);
        found.extend(required.filter(|name| !members.contains_key(*name)).map(|name| format!("{at}: no {name}")));
        for (name, member) in members {
            match schema["properties"].get(name) {
                Some(declared) => found.extend(departures(doc, declared, member, &format!("{at}.{name}"))),
                None => found.push(format!("{at}: undeclared member {name}")),
            }
        }
    }
    if let Value::Array(items) = value {
        for (i, item) in items.iter().enumerate() {
            found.extend(departures(doc, &schema["items"], item, &format!("{at}[{i}]")));
        }
    }
    found
}

/// Where the answer departs from what the document declares for it.
fn undeclared(doc: &Value, exchange: &Exchange) -> Vec<String> {
    let what = format!("{} {} {}", exchange.method, exchange.path, exchange.status.as_u16());
    let Some((template, op)) = operation(doc, &exchange.method, &exchange.path) else { return vec![format!("{what}: no such operation")] };
    let response = &op["responses"][exchange.status.as_str()];
    if !response.is_object() {
        return vec![format!("{what}: status not declared for {template}")];
    }
    let mut found = Vec::new();
    for (header, _) in response["headers"].as_object().into_iter().flatten().filter(|(h, _)| h.as_str() != "Retry-After") {
        if !exchange.headers.contains_key(header.as_str()) {
            found.push(format!("{what}: no {header} header"));
        }
    }
    let Some(media_type) = exchange.headers.get("content-type").and_then(|v| v.to_str().ok()) else { return found };
    let Some(content) = response["content"].get(media_type) else { return [found, vec![format!("{what}: {media_type} not declared")]].concat() };
    if media_type.ends_with("json") {
        let body: Value = serde_json::from_slice(&exchange.body).unwrap();
        found.extend(departures(doc, &content["schema"], &body, &what));
    }
    found
}

/// A whole session and its refusals, logged by the backend.
async fn session(b: &Backend) {
    let mut client = Client::new(b, TestKey::ec());
    b.send("GET", &b.urls().directory(), &[], None).await;
    b.send("GET", &b.urls().new_nonce(), &[], None).await;
    b.send("GET", &b.urls().directory().replace(&b.authority, "0190a1b2-0000-7000-8000-000000000001"), &[], None).await;
    client.post(&b.urls().new_account(), Some(json!({ "termsOfServiceAgreed": true }))).await;
    client.register().await;
    let kid = client.kid.take().unwrap();
    client.post(&b.urls().new_account(), Some(json!({ "onlyReturnExisting": true }))).await;
    client.kid = Some(kid.clone());
    client.post(&kid, None).await;
    client.post(&format!("{kid}/orders"), None).await;
    let (order_url, order) = client.order(&["doc.acme.localhost"]).await;
    client.finalize(&order, &["doc.acme.localhost"]).await;
    client.post(&b.urls().new_order(), Some(json!({ "identifiers": [{ "type": "ip", "value": "127.0.0.1" }] }))).await;
    b.send("POST", &b.urls().new_order(), &[("content-type", "application/json")], Some("{}".into())).await;
    client.post(&order_url.replace(&order_url[order_url.len() - 12..], "000000000001"), None).await;
    client.validate(&order, |t| client.key_authorization(t)).await;
    client.finalize(&order, &["doc.acme.localhost"]).await;
    let valid = client.poll(&order_url, "pending").await;
    let chain = client.post(valid["certificate"].as_str().unwrap(), None).await;
    let der = trustplane_core::pki::chain::parse_pem_certs(&support::text(&chain)).unwrap().remove(0);
    support::renewal_window(b, &der).await;
    client.post(&b.urls().revoke_cert(), Some(json!({ "certificate": support::B64.encode(&der) }))).await;
    let mut other = Client::new(b, TestKey::ec());
    other.register().await;
    let url = b.urls().key_change();
    let inner = other.key.sign(json!({ "url": url, "jwk": other.key.jwk() }), Some(&json!({ "account": kid, "oldKey": client.key.jwk() })));
    client.post(&url, Some(inner)).await;
}

/// The operators' routes, allowed and refused.
async fn operators(b: &Backend) {
    let reader = mint_key(&b.state.app, &["pki:read"]).await;
    let keys = format!("/api/v1/authorities/{}/eab-keys", b.authority);
    let policy = format!("/api/v1/authorities/{}/acme-policy", b.authority);
    let json = ("content-type", "application/json");
    let (key_id, _) = b.eab_key().await;
    b.send("GET", &keys, &[("x-api-key", &b.admin)], None).await;
    b.send("POST", &keys, &[("x-api-key", &reader), json], Some("{}".into())).await;
    b.send("POST", &keys, &[json], Some("{}".into())).await;
    b.send("POST", &keys, &[("x-api-key", &b.admin), json], Some(json!({ "name": "" }).to_string())).await;
    b.send("DELETE", &format!("{keys}/{key_id}"), &[("x-api-key", &b.admin)], None).await;
    b.send("DELETE", &format!("{keys}/0190a1b2-0000-7000-8000-000000000001"), &[("x-api-key", &b.admin)], None).await;
    b.send("GET", &policy, &[("x-api-key", &reader)], None).await;
    b.send("PUT", &policy, &[("x-api-key", &b.admin), json], Some(json!({ "validityDays": 30 }).to_string())).await;
    b.send("PUT", &policy, &[("x-api-key", &b.admin), json], Some(json!({ "validityDays": 0 }).to_string())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_of_a_session_is_a_status_media_type_shape_and_header_set_the_document_declares() {
    let b = Backend::sqlite().await;
    let doc = document(&b).await;
    session(&b).await;
    operators(&b).await;
    let log = b.log.lock().unwrap().clone();
    let statuses: std::collections::BTreeSet<u16> = log.iter().map(|e| e.status.as_u16()).collect();
    assert_eq!(statuses.into_iter().collect::<Vec<_>>(), [200, 201, 204, 400, 401, 403, 404, 409, 415], "the session answers every status it means to");
    let found: Vec<String> = log.iter().flat_map(|exchange| undeclared(&doc, exchange)).collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn acme_operations_take_jose_bodies_and_answer_problem_documents_with_the_envelope_headers() {
    let b = Backend::sqlite().await;
    let doc = document(&b).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut acme = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let on_acme = path.starts_with("/acme/");
            let error_schema = if on_acme { "#/components/schemas/AcmeProblem" } else { "#/components/schemas/Problem" };
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') || status == "default" {
                    assert_eq!(response["content"]["application/problem+json"]["schema"]["$ref"], error_schema, "{method} {path} {status}");
                }
                if on_acme {
                    let headers = &response["headers"];
                    assert!(["Replay-Nonce", "Link", "Cache-Control"].iter().all(|h| headers[h].is_object()), "{method} {path} {status}: {headers}");
                }
            }
            if on_acme && method == "post" {
                assert_eq!(op["requestBody"]["content"]["application/jose+json"]["schema"]["$ref"], "#/components/schemas/Jws", "{path}");
                acme += 1;
            }
        }
    }
    assert_eq!(acme, 11, "every signed ACME resource");
    let chain = &doc["paths"]["/acme/{authorityId}/cert/{id}"]["post"]["responses"]["200"]["content"];
    assert!(chain["application/pem-certificate-chain"].is_object(), "{chain}");
    assert_eq!(doc["components"]["schemas"]["AcmeProblem"]["properties"]["type"]["pattern"], "^urn:ietf:params:acme:error:[A-Za-z]+$");
}
