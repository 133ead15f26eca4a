//! Seed 002's allowlist and the client's extra allowlist routes, in-process through the
//! router on SQLite and on DynamoDB (moto).

mod envelope_kit;

use envelope_kit::*;
use serde_json::json;
use std::sync::Arc;
use trustplane_core::domain::MacAddress;
use trustplane_core::on_both_backends;
use trustplane_core::services::devices::allowlist;

on_both_backends!(
    an_empty_allowlist_lists_an_empty_array_and_zero_stats,
    a_mac_in_any_spelling_is_stored_once_in_canonical_form_and_listed_in_mac_order,
    invalid_macs_and_overlong_fields_are_refused_as_validation_failed,
    patching_an_entry_replaces_sent_fields_clears_null_ones_and_keeps_the_rest,
    deleting_an_entry_answers_204_then_404_device_not_found,
    bulk_add_counts_added_and_skipped_and_an_invalid_mac_writes_nothing_and_names_its_index,
    bulk_remove_counts_removed_and_not_found_and_clear_all_empties_the_allowlist,
    twenty_concurrent_adds_of_one_mac_give_one_201_and_nineteen_409_with_exact_stats,
    twenty_concurrent_adds_and_removes_of_different_macs_all_succeed_and_keep_stats_exact,
    stats_count_entries_marked_used_by_the_provisioning_transaction,
);

const BASE: &str = "/api/v1/provisioning/allowlist";

fn mac(i: usize) -> String {
    format!("AA:BB:CC:00:{:02X}:{:02X}", i / 256, i % 256)
}

async fn stats(b: &Backend) -> (u64, u64, u64) {
    let d = data(&b.get(&format!("{BASE}/stats")).await, 200);
    assert_eq!(d["available"], d["unused"], "the client's name for unused");
    (d["total"].as_u64().unwrap(), d["used"].as_u64().unwrap(), d["unused"].as_u64().unwrap())
}

async fn an_empty_allowlist_lists_an_empty_array_and_zero_stats(b: Backend) {
    let d = data(&b.get(BASE).await, 200);
    assert_eq!(d, json!({ "entries": [], "count": 0 }));
    assert_eq!(stats(&b).await, (0, 0, 0));
}

async fn a_mac_in_any_spelling_is_stored_once_in_canonical_form_and_listed_in_mac_order(b: Backend) {
    let created = b.write("POST", BASE, Some(json!({ "mac": "aa-bb-cc-dd-ee-ff", "description": "Camera 1", "container_id": "c-1" }))).await;
    let entry = data(&created, 201)["entry"].clone();
    assert_eq!((entry["mac"].as_str(), entry["description"].as_str(), entry["container_id"].as_str()), (Some("AA:BB:CC:DD:EE:FF"), Some("Camera 1"), Some("c-1")));
    assert_eq!(entry["used"], false);
    assert!(entry["added_at"].as_str().unwrap().ends_with('Z'));
    assert!(entry.get("used_at").is_none(), "optional fields are omitted, never null: {entry}");
    let again = b.write("POST", BASE, Some(json!({ "mac": "aabbccddeeff" }))).await;
    failure(&again, 409, "CONFLICT");
    let bare = data(&b.write("POST", BASE, Some(json!({ "mac": "01:02:03:04:05:06" }))).await, 201)["entry"].clone();
    assert!(bare.get("description").is_none() && bare.get("container_id").is_none(), "{bare}");
    let listed = data(&b.get(BASE).await, 200);
    let macs: Vec<&str> = listed["entries"].as_array().unwrap().iter().map(|e| e["mac"].as_str().unwrap()).collect();
    assert_eq!((macs, listed["count"].as_u64()), (vec!["01:02:03:04:05:06", "AA:BB:CC:DD:EE:FF"], Some(2)));
    let one = data(&b.get(&format!("{BASE}/aa%3Abb%3Acc%3Add%3Aee%3Aff")).await, 200);
    assert_eq!(one["entry"], entry, "GET by an encoded lower-case MAC");
    assert_eq!(stats(&b).await, (2, 0, 2));
}

async fn invalid_macs_and_overlong_fields_are_refused_as_validation_failed(b: Backend) {
    let error = failure(&b.write("POST", BASE, Some(json!({ "mac": "not-a-mac" }))).await, 400, "VALIDATION_FAILED");
    assert_eq!(error["message"], "Validation failed");
    assert!(error["details"].as_str().unwrap().contains("Invalid MAC address format"), "{error}");
    let long = "x".repeat(allowlist::MAX_DESCRIPTION_CHARS + 1);
    failure(&b.write("POST", BASE, Some(json!({ "mac": mac(1), "description": long }))).await, 400, "VALIDATION_FAILED");
    failure(&b.write("POST", BASE, Some(json!({ "mac": mac(1), "container_id": "a\u{7}b" }))).await, 400, "VALIDATION_FAILED");
    failure(&b.write("POST", BASE, Some(json!({ "mac": mac(1), "colour": "red" }))).await, 400, "VALIDATION_FAILED");
    failure(&b.get(&format!("{BASE}/zz:zz")).await, 400, "VALIDATION_FAILED");
    assert_eq!(data(&b.get(BASE).await, 200)["count"], 0, "nothing was written");
}

async fn patching_an_entry_replaces_sent_fields_clears_null_ones_and_keeps_the_rest(b: Backend) {
    data(&b.write("POST", BASE, Some(json!({ "mac": mac(7), "description": "old", "container_id": "box-1" }))).await, 201);
    let path = format!("{BASE}/{}", mac(7));
    let d = data(&b.write("PATCH", &path, Some(json!({ "description": "new" }))).await, 200);
    assert_eq!((d["entry"]["description"].as_str(), d["entry"]["container_id"].as_str()), (Some("new"), Some("box-1")));
    let d = data(&b.write("PATCH", &path, Some(json!({ "container_id": null }))).await, 200);
    assert!(d["entry"].get("container_id").is_none() && d["entry"]["description"] == "new", "{d}");
    assert_eq!(data(&b.get(&path).await, 200)["entry"], d["entry"], "stored");
    failure(&b.write("PATCH", &format!("{BASE}/{}", mac(8)), Some(json!({ "description": "x" }))).await, 404, "DEVICE_NOT_FOUND");
    failure(&b.send("PATCH", &path, Some(&b.read), Some(json!({ "description": "x" }))).await, 403, "FORBIDDEN");
}

async fn deleting_an_entry_answers_204_then_404_device_not_found(b: Backend) {
    data(&b.write("POST", BASE, Some(json!({ "mac": mac(3) }))).await, 201);
    let gone = b.write("DELETE", &format!("{BASE}/{}", mac(3).to_lowercase().replace(':', "-")), None).await;
    assert_eq!((gone.status.as_u16(), gone.body.len()), (204, 0));
    let error = failure(&b.write("DELETE", &format!("{BASE}/{}", mac(3)), None).await, 404, "DEVICE_NOT_FOUND");
    assert!(error["details"].as_str().unwrap().contains(&mac(3)), "{error}");
    failure(&b.get(&format!("{BASE}/{}", mac(3))).await, 404, "DEVICE_NOT_FOUND");
    assert_eq!(stats(&b).await, (0, 0, 0));
}

async fn bulk_add_counts_added_and_skipped_and_an_invalid_mac_writes_nothing_and_names_its_index(b: Backend) {
    data(&b.write("POST", BASE, Some(json!({ "mac": mac(0) }))).await, 201);
    let mut entries: Vec<_> = (0..150).map(|i| json!({ "mac": mac(i), "description": format!("d{i}") })).collect();
    entries.push(json!({ "mac": mac(5).to_lowercase() }));
    let mut bad = entries.clone();
    bad[42] = json!({ "mac": "12:34" });
    let error = failure(&b.write("POST", &format!("{BASE}/bulk"), Some(json!({ "entries": bad }))).await, 400, "VALIDATION_FAILED");
    assert!(error["details"].as_str().unwrap().starts_with("entries[42]"), "{error}");
    assert_eq!(stats(&b).await, (1, 0, 1), "nothing written");
    let d = data(&b.write("POST", &format!("{BASE}/bulk"), Some(json!({ "entries": entries }))).await, 200);
    assert_eq!((d["added"].as_u64(), d["skipped"].as_u64()), (Some(149), Some(2)), "{d}");
    assert!(d["message"].is_string());
    let listed = data(&b.get(BASE).await, 200);
    assert_eq!(listed["count"], 150);
    let macs: Vec<String> = listed["entries"].as_array().unwrap().iter().map(|e| e["mac"].as_str().unwrap().to_owned()).collect();
    assert_eq!(macs, (0..150).map(mac).collect::<Vec<_>>(), "sorted, no duplicates");
    assert_eq!(stats(&b).await, (150, 0, 150));
}

async fn bulk_remove_counts_removed_and_not_found_and_clear_all_empties_the_allowlist(b: Backend) {
    let entries: Vec<_> = (0..120).map(|i| json!({ "mac": mac(i) })).collect();
    data(&b.write("POST", &format!("{BASE}/bulk"), Some(json!({ "entries": entries }))).await, 200);
    let macs: Vec<String> = (100..130).map(mac).collect();
    let d = data(&b.write("POST", &format!("{BASE}/bulk-remove"), Some(json!({ "macs": macs }))).await, 200);
    assert_eq!((d["removed"].as_u64(), d["not_found"].as_u64()), (Some(20), Some(10)), "{d}");
    let error = failure(&b.write("POST", &format!("{BASE}/bulk-remove"), Some(json!({ "macs": [mac(1), "nope"] }))).await, 400, "VALIDATION_FAILED");
    assert!(error["details"].as_str().unwrap().starts_with("macs[1]"), "{error}");
    assert_eq!(stats(&b).await, (100, 0, 100));
    failure(&b.send("DELETE", &format!("{BASE}/all"), Some(&b.read), None).await, 403, "FORBIDDEN");
    let d = data(&b.write("DELETE", &format!("{BASE}/all"), None).await, 200);
    assert_eq!(d["cleared"], 100, "{d}");
    assert_eq!(data(&b.get(BASE).await, 200), json!({ "entries": [], "count": 0 }));
    assert_eq!(stats(&b).await, (0, 0, 0));
}

async fn twenty_concurrent_adds_of_one_mac_give_one_201_and_nineteen_409_with_exact_stats(b: Backend) {
    let b = Arc::new(b);
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (b, barrier) = (b.clone(), barrier.clone());
            let spelling = if i % 2 == 0 { "de:ad:be:ef:00:01".to_owned() } else { "DEADBEEF0001".to_owned() };
            tokio::spawn(async move {
                barrier.wait().await;
                b.write("POST", BASE, Some(json!({ "mac": spelling, "description": format!("racer {i}") }))).await.status.as_u16()
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 19, "{codes:?}");
    assert_eq!(stats(&b).await, (1, 0, 1));
}

async fn twenty_concurrent_adds_and_removes_of_different_macs_all_succeed_and_keep_stats_exact(b: Backend) {
    let b = Arc::new(b);
    for i in 100..110 {
        data(&b.write("POST", BASE, Some(json!({ "mac": mac(i) }))).await, 201);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(30));
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let (b, barrier) = (b.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                match i {
                    0..20 => b.write("POST", BASE, Some(json!({ "mac": mac(i) }))).await.status.as_u16(),
                    _ => b.write("DELETE", &format!("{BASE}/{}", mac(80 + i)), None).await.status.as_u16(),
                }
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 20, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 204).count(), 10, "{codes:?}");
    assert_eq!(stats(&b).await, (20, 0, 20));
    assert_eq!(data(&b.get(BASE).await, 200)["count"], 20);
}

/// Marks `mac` used as the provisioning transaction does (a plain transaction with
/// `mark_used`, outside the allowlist's counter).
async fn provision(b: &Backend, mac: &MacAddress) {
    let store = b.state.ports.store.as_ref();
    let (entry, version) = allowlist::find(store, mac).await.unwrap().unwrap();
    let write = allowlist::mark_used(&entry, version, trustplane_core::clock::now()).unwrap();
    store.transact(vec![write]).await.unwrap();
}

async fn stats_count_entries_marked_used_by_the_provisioning_transaction(b: Backend) {
    let b = Arc::new(b);
    for i in 0..4 {
        data(&b.write("POST", BASE, Some(json!({ "mac": mac(i) }))).await, 201);
    }
    let device = MacAddress::parse(&mac(1)).unwrap();
    provision(&b, &device).await;
    let counters: Vec<_> = (0..20)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move { allowlist::count_used(b.state.ports.store.as_ref(), &device).await.unwrap() })
        })
        .collect();
    let mut counted = 0;
    for c in counters {
        counted += u32::from(c.await.unwrap());
    }
    assert_eq!(counted, 1, "twenty concurrent counts of one use count it once");
    provision(&b, &device).await;
    allowlist::count_used(b.state.ports.store.as_ref(), &device).await.unwrap();
    assert_eq!(stats(&b).await, (4, 1, 3), "provisioning an entry again counts it once");
    let entry = data(&b.get(&format!("{BASE}/{}", mac(1))).await, 200)["entry"].clone();
    assert!(entry["used"] == true && entry["used_at"].is_string(), "{entry}");

    let uncounted = MacAddress::parse(&mac(2)).unwrap();
    provision(&b, &uncounted).await;
    assert_eq!(stats(&b).await, (4, 1, 3), "a use not counted yet (the process stopped before counting)");
    data(&b.get(BASE).await, 200);
    assert_eq!(stats(&b).await, (4, 2, 2), "listing counts it");

    assert_eq!(b.write("DELETE", &format!("{BASE}/{}", mac(1)), None).await.status.as_u16(), 204);
    assert_eq!(stats(&b).await, (3, 1, 2), "removing a used entry takes it from both counts");
    provision(&b, &MacAddress::parse(&mac(3)).unwrap()).await;
    let d = data(&b.write("POST", &format!("{BASE}/bulk-remove"), Some(json!({ "macs": [mac(2), mac(3)] }))).await, 200);
    assert_eq!(d["removed"], 2);
    assert_eq!(stats(&b).await, (1, 0, 1), "a counted and an uncounted use removed in one transaction");
    provision(&b, &MacAddress::parse(&mac(0)).unwrap()).await;
    allowlist::count_used(b.state.ports.store.as_ref(), &MacAddress::parse(&mac(0)).unwrap()).await.unwrap();
    data(&b.write("POST", BASE, Some(json!({ "mac": mac(9) }))).await, 201);
    assert_eq!(stats(&b).await, (2, 1, 1));
    assert_eq!(data(&b.write("DELETE", &format!("{BASE}/all"), None).await, 200)["cleared"], 2);
    assert_eq!(stats(&b).await, (0, 0, 0));
    data(&b.write("POST", BASE, Some(json!({ "mac": mac(0) }))).await, 201);
    assert_eq!(data(&b.get(BASE).await, 200)["entries"][0]["used"], false, "a re-added MAC starts unused");
    assert_eq!(stats(&b).await, (1, 0, 1));
}

#[tokio::test]
async fn the_list_walks_every_page_of_the_index_when_pages_come_back_short() {
    let b = Backend::sqlite().await;
    let (ports, faulty) = trustplane_core::testkit::faults::FaultyStore::install(&b.state.ports);
    let state = trustplane_core::http::AppState { ports, ..b.state.clone() };
    let entries: Vec<_> = (0..7).rev().map(|i| json!({ "mac": mac(i) })).collect();
    data(&b.write("POST", &format!("{BASE}/bulk"), Some(json!({ "entries": entries }))).await, 200);
    faulty.short_pages(2);
    faulty.empty_pages();
    let listed = allowlist::list(state.ports.store.as_ref()).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.mac.to_string()).collect::<Vec<_>>(), (0..7).map(mac).collect::<Vec<_>>());
    assert!(faulty.fired().short_pages >= 3 && faulty.fired().empty_pages >= 1, "{:?}", faulty.fired());
}

#[tokio::test]
async fn static_segments_are_not_taken_for_macs() {
    let b = Backend::sqlite().await;
    assert_eq!(data(&b.get(&format!("{BASE}/stats")).await, 200)["total"], 0);
    failure(&b.get(&format!("{BASE}/bulk")).await, 405, "METHOD_NOT_ALLOWED");
    failure(&b.get(&format!("{BASE}/all")).await, 405, "METHOD_NOT_ALLOWED");
}
