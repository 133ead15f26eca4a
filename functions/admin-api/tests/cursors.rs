//! `GET /api/v1/api-keys` cursors through the router on the embedded backend (`::sqlite`)
//! and on the AWS adapters against moto (`::moto`): opaque, bound to the list that returned
//! them, and a foreign or forged one is a 400 problem.

mod support;

use http::StatusCode;
use support::Backend;
use trustplane_core::domain::AgentId;
use trustplane_core::http::AppState;
use trustplane_core::on_both_backends;
use trustplane_core::ports::{Index, Query};
use trustplane_core::services::pki::Pki;
use trustplane_core::services::provisioning::{KeyFilter, Provisioning, TtlSeconds};
use trustplane_core::testkit::{mint_key, Reply};

on_both_backends!(
    the_api_keys_cursor_shows_neither_a_key_hash_nor_the_key_layout_and_pages_every_key_once,
    a_provision_keys_cursor_given_to_the_api_keys_list_is_a_400_problem,
    a_forged_edited_or_truncated_cursor_is_a_400_problem_not_a_restart,
);

/// base64url of `["","",""]`: the shape of an unsealed GSI1 cursor, pointing nowhere.
const EMPTY_POSITION: &str = "WyIiLCIiLCIiXQ";

async fn list_keys(b: &Backend, query: &str) -> Reply {
    b.send("GET", &format!("/api/v1/api-keys?{query}"), "").await
}

/// base64url without padding, decoded (this test crate has no base64 dependency).
fn unbase64url(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sextets: Vec<u32> = text
        .bytes()
        .map(|c| ALPHABET.iter().position(|&a| a == c).unwrap_or_else(|| panic!("not base64url: {text}")) as u32)
        .collect();
    sextets
        .chunks(4)
        .flat_map(|chunk| {
            let bits = chunk.iter().fold(0u32, |acc, s| acc << 6 | s) << (6 * (4 - chunk.len()));
            bits.to_be_bytes()[1..chunk.len()].to_vec()
        })
        .collect()
}

/// The SHA-256 hex of every stored API key, read from the store's partition keys.
async fn stored_key_hashes(state: &AppState) -> Vec<String> {
    let query = Query { index: Index::Gsi1, limit: 100, ..Query::partition("APIKEYS") };
    let page = state.ports.store.query(query).await.expect("API keys");
    page.items.iter().map(|i| i.pk.strip_prefix("APIKEY#").expect("an API key item").to_owned()).collect()
}

/// The cursor after the first of two provision keys, as `GET /api/v1/provision-keys` returns it.
async fn provision_keys_cursor(state: &AppState) -> String {
    let pki = Pki::new(state.ports.clone(), state.config.clone());
    let provisioning = Provisioning::new(state.ports.store.clone(), pki, state.config.clone());
    for agent in ["agent-1", "agent-2"] {
        provisioning.create_key(AgentId::parse(agent).unwrap(), TtlSeconds::parse(3600).unwrap()).await.expect("provision key");
    }
    let (_, cursor) = provisioning.list_keys(&KeyFilter::default(), 1, None).await.expect("provision keys");
    cursor.expect("a second page")
}

fn assert_cursor_refused(reply: &Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}: {}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("content-type"), Some("application/problem+json"), "{what}");
    let body = reply.json();
    assert_eq!((body["status"].as_u64(), body["detail"].as_str()), (Some(400), Some("cursor is not one this list returned")), "{what}");
}

async fn the_api_keys_cursor_shows_neither_a_key_hash_nor_the_key_layout_and_pages_every_key_once(b: Backend) {
    for _ in 0..2 {
        mint_key(&b.state, &["pki:read"]).await;
    }
    let hashes = stored_key_hashes(&b.state).await;
    let (mut ids, mut query) = (Vec::new(), "limit=1".to_owned());
    loop {
        let page = list_keys(&b, &query).await.json();
        ids.extend(page["data"].as_array().expect("data").iter().map(|k| k["id"].as_str().unwrap().to_owned()));
        let Some(cursor) = page["next_cursor"].as_str() else { break };
        let readable = String::from_utf8_lossy(&unbase64url(cursor)).into_owned();
        for leak in hashes.iter().map(String::as_str).chain(["APIKEY"]) {
            assert!(!cursor.contains(leak) && !readable.contains(leak), "{leak} readable in cursor {cursor}: {readable}");
        }
        query = format!("limit=1&cursor={cursor}");
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((ids.len(), unique.len()), (3, 3), "{ids:?}");
}

async fn a_provision_keys_cursor_given_to_the_api_keys_list_is_a_400_problem(b: Backend) {
    mint_key(&b.state, &["pki:read"]).await;
    let foreign = provision_keys_cursor(&b.state).await;
    let reply = list_keys(&b, &format!("limit=1&cursor={foreign}")).await;
    assert_cursor_refused(&reply, "a provision-keys cursor");
}

async fn a_forged_edited_or_truncated_cursor_is_a_400_problem_not_a_restart(b: Backend) {
    mint_key(&b.state, &["pki:read"]).await;
    let cursor = list_keys(&b, "limit=1").await.json()["next_cursor"].as_str().expect("a second page").to_owned();
    let middle = cursor.len() / 2;
    let swapped = if &cursor[middle..=middle] == "A" { "B" } else { "A" };
    let edited = format!("{}{swapped}{}", &cursor[..middle], &cursor[middle + 1..]);
    let forgeries = [("forged", EMPTY_POSITION.to_owned()), ("edited", edited), ("truncated", cursor[..cursor.len() - 4].to_owned())];
    for (what, forged) in forgeries {
        assert_cursor_refused(&list_keys(&b, &format!("limit=1&cursor={forged}")).await, what);
    }
}
