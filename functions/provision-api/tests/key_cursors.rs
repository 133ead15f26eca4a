//! `GET /api/v1/provision-keys` cursors (issue 14, item 2) on the embedded backend (`::sqlite`)
//! and on the AWS adapters against moto (`::moto`): `agent_id` and `state` filter after the
//! query, so each cursor is bound to the filters it was returned for; one from another filter
//! is a 400 `{"error"}`, never a page of the other listing.

mod support;

use http::StatusCode;
use serde_json::{json, Value};
use support::{get, mint, Backend};
use trustplane_core::on_both_backends;
use trustplane_core::testkit::Reply;

on_both_backends!(a_filtered_listing_pages_every_matching_key_once, a_cursor_returned_for_one_filter_is_a_400_on_any_other);

async fn list(b: &Backend, query: &str) -> Reply {
    get(b, &format!("/api/v1/provision-keys?{query}"), Some(&b.admin)).await
}

fn prefixes(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(|k| k["key_prefix"].as_str().unwrap().to_owned()).collect()
}

async fn a_filtered_listing_pages_every_matching_key_once(b: Backend) {
    let mut minted: Vec<String> = Vec::new();
    for agent in ["agent-a", "agent-b", "agent-a", "agent-a"] {
        let key = mint(&b, agent, 3600).await;
        if agent == "agent-a" {
            minted.push(key[..11].to_owned());
        }
    }
    let filter = "agent_id=agent-a&state=unused&limit=1";
    let (mut seen, mut query) = (Vec::new(), filter.to_owned());
    loop {
        let page = list(&b, &query).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.json());
        seen.extend(prefixes(&page.json()));
        let Some(cursor) = page.json()["next_cursor"].as_str().map(str::to_owned) else { break };
        query = format!("{filter}&cursor={cursor}");
    }
    seen.sort();
    minted.sort();
    assert_eq!(seen, minted);
}

async fn a_cursor_returned_for_one_filter_is_a_400_on_any_other(b: Backend) {
    for agent in ["agent-a", "agent-a", "agent-b"] {
        mint(&b, agent, 3600).await;
    }
    let unused = list(&b, "state=unused&limit=1").await.json()["next_cursor"].as_str().expect("a second page").to_owned();
    assert_eq!(list(&b, &format!("state=unused&limit=1&cursor={unused}")).await.status, StatusCode::OK);
    for other in ["state=used", "state=revoked", "agent_id=agent-a", "state=unused&agent_id=agent-a", ""] {
        let reply = list(&b, &format!("{other}&limit=1&cursor={unused}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "?state=unused's cursor on ?{other}: {}", String::from_utf8_lossy(&reply.body));
        assert_eq!(reply.json(), json!({ "error": "cursor is not one this list returned" }), "{other}");
    }
}
