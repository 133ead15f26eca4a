//! `GET /api/v1/certificates` cursors (issue 14, item 2) on the embedded backend (`local::…`)
//! and on the AWS adapters against moto (`moto::…`): opaque, sealed with the deployment's
//! cursor key and bound to the filters they were returned for; a cursor from another filter,
//! a hand-made one (base64url JSON of a position) or an edited one is a 400 problem, never a
//! page and never a 5xx.

#[macro_use]
mod common;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use trustplane_core::testkit::Reply;

on_both_backends! {
    a_filtered_listing_pages_every_match_once_and_its_cursor_shows_no_id => pages_once;
    a_cursor_returned_for_one_filter_is_a_400_problem_on_any_other => other_filter;
    a_hand_made_or_edited_cursor_is_a_400_problem_never_a_page_or_a_5xx => forged;
}

fn ids(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(|c| id(c).to_owned()).collect()
}

/// Asserts the problem every refused cursor gets.
fn assert_cursor_refused(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 400, "{what}: {}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("content-type"), Some("application/problem+json"), "{what}");
    assert_eq!(reply.json()["detail"], "cursor is not one this list returned", "{what}");
}

/// A root with three certificates, the second revoked: (root, certificate ids in issue order).
async fn inventory(env: &Env) -> (Value, Vec<String>) {
    let root = env.root(("EC", 256)).await;
    let mut certs = Vec::new();
    for _ in 0..3 {
        certs.push(id(&env.leaf(&root).await).to_owned());
    }
    let revoked = env.post(&format!("/api/v1/certificates/{}/revocation", certs[1]), json!({ "reason": "SUPERSEDED" })).await;
    assert_eq!(revoked.status, 202, "{}", revoked.json());
    (root, certs)
}

fn base64url(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

async fn pages_once(env: Env) {
    let (root, certs) = inventory(&env).await;
    let filter = format!("issuerId={}&status=VALID&limit=1", id(&root));
    let (mut seen, mut query) = (Vec::new(), filter.clone());
    loop {
        let page = env.get(&format!("/api/v1/certificates?{query}")).await;
        assert_eq!(page.status, 200, "{}", page.json());
        seen.extend(ids(&page.json()));
        let Some(cursor) = page.json()["nextCursor"].as_str().map(str::to_owned) else { break };
        let readable = String::from_utf8_lossy(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&cursor).unwrap_or_default()).into_owned();
        for leak in [id(&root)].into_iter().chain(certs.iter().map(String::as_str)) {
            assert!(!cursor.contains(leak) && !readable.contains(leak), "{leak} readable in cursor {cursor}: {readable}");
        }
        query = format!("{filter}&cursor={cursor}");
    }
    assert_eq!(seen, vec![certs[0].clone(), certs[2].clone()]);
}

async fn other_filter(env: Env) {
    let (root, _) = inventory(&env).await;
    let issuer = format!("issuerId={}", id(&root));
    let filters = [
        format!("{issuer}&status=VALID"),
        format!("{issuer}&status=REVOKED"),
        format!("{issuer}&channel=pki"),
        format!("{issuer}&expiringBefore=2100-01-01T00:00:00Z"),
        format!("{issuer}&expiringBefore=2100-01-01T00:00:01Z"),
        issuer.clone(),
        "status=VALID".to_owned(),
    ];
    let cursor = |filter: &str| {
        let env = &env;
        let path = format!("/api/v1/certificates?{filter}&limit=1");
        async move { env.get(&path).await.json()["nextCursor"].as_str().map(str::to_owned) }
    };
    let valid_only = cursor(&filters[0]).await.expect("a second VALID certificate");
    assert_eq!(env.get(&format!("/api/v1/certificates?{}&limit=1&cursor={valid_only}", filters[0])).await.status, 200);
    for other in &filters[1..] {
        let reply = env.get(&format!("/api/v1/certificates?{other}&limit=1&cursor={valid_only}")).await;
        assert_cursor_refused(&reply, &format!("the cursor of ?{} on ?{other}", filters[0]));
    }
    let unfiltered = cursor(&issuer).await.expect("a second certificate");
    let reply = env.get(&format!("/api/v1/certificates?{}&limit=1&cursor={unfiltered}", filters[0])).await;
    assert_cursor_refused(&reply, "an unfiltered cursor on a filtered list");
}

async fn forged(env: Env) {
    let (root, certs) = inventory(&env).await;
    let issuer = id(&root);
    let cursor = env.get("/api/v1/certificates?limit=1").await.json()["nextCursor"].as_str().expect("a second page").to_owned();
    let middle = cursor.len() / 2;
    let swapped = if &cursor[middle..=middle] == "A" { "B" } else { "A" };
    let forgeries = [
        ("a restart", base64url(&json!({ "issuer": issuer, "after": null }).to_string())),
        ("a position past a real id", base64url(&json!({ "issuer": issuer, "after": certs[0] }).to_string())),
        ("an inverted range", base64url(&json!({ "issuer": issuer, "after": "~~" }).to_string())),
        ("a kibibyte position", base64url(&json!({ "issuer": issuer, "after": "0".repeat(1024) }).to_string())),
        ("an edited cursor", format!("{}{swapped}{}", &cursor[..middle], &cursor[middle + 1..])),
        ("a truncated cursor", cursor[..cursor.len() - 4].to_owned()),
        ("not base64", "%21%21".to_owned()),
    ];
    for (what, forged) in forgeries {
        for filter in ["", "&status=VALID"] {
            assert_cursor_refused(&env.get(&format!("/api/v1/certificates?limit=1{filter}&cursor={forged}")).await, what);
        }
    }
    assert_eq!(env.get(&format!("/api/v1/certificates?limit=1&cursor={cursor}")).await.status, 200, "the real cursor still works");
}
