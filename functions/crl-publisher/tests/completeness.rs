//! CRL completeness at scale (RFC 5280 §5.1.2.6, §3.3: an entry stays on the CRL until the
//! certificate expires): with more than 1,000 revocations, read from the store a page at a
//! time with expired items (which DynamoDB still returns until TTL deletion) spread over every
//! page, every revoked, unexpired serial is listed with its reason and expired ones are
//! pruned. Checked by parsing the CRL and verifying it with OpenSSL, on SQLite and on
//! DynamoDB + S3 (moto).

mod common;

use common::*;
use std::collections::BTreeMap;
use std::time::Duration;
use trustplane_core::pki::crl::RevocationReason;
use trustplane_core::pki::Serial;
use trustplane_core::ports::{Condition, Item, Query, Write};
use trustplane_core::services::pki::{blob_key, RevokedRecord};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

const LIVE: usize = 1_200;
const EXPIRED_ON_THE_CRL: usize = 150;
const EXPIRED_IN_THE_STORE: usize = 150;
const REASONS: [RevocationReason; 3] = [RevocationReason::KeyCompromise, RevocationReason::Superseded, RevocationReason::CessationOfOperation];

on_both_backends! {
    every_unexpired_revocation_of_more_than_a_thousand_is_on_the_crl_and_expired_ones_are_pruned => completeness;
}

/// One `REVOKED#` entry, as a revocation writes it: its TTL is a day past `notAfter`.
fn entry(authority_id: &str, not_after_in: i64, reason: RevocationReason) -> (String, Item) {
    let now = x509_parser::time::ASN1Time::now().to_datetime();
    let not_after = if not_after_in >= 0 { now + Duration::from_secs(not_after_in as u64) } else { now - Duration::from_secs(not_after_in.unsigned_abs()) };
    let serial = Serial::random().to_hex();
    let record = RevokedRecord { serial_number: serial.clone(), revoked_at: now - Duration::from_secs(3600), reason, not_after, cert_id: format!("cert-{serial}") };
    let mut item = Item::new(format!("REVOKED#{authority_id}"), serial.clone(), serde_json::to_value(&record).unwrap());
    item.expires_at = Some(not_after.unix_timestamp() + 86_400);
    (serial, item)
}

/// Hex digits without separators, leading zeros or case.
fn norm(hex: &str) -> String {
    hex.replace(':', "").trim_start_matches('0').to_ascii_uppercase()
}

/// Writes the revocations (in random serial order, so expired items fall on every page);
/// returns the serials a CRL must list, with their reasons.
async fn revocations(env: &Env, authority_id: &str) -> BTreeMap<String, RevocationReason> {
    let mut live = BTreeMap::new();
    let mut items = Vec::new();
    for i in 0..LIVE {
        let (serial, item) = entry(authority_id, 30 * 86_400, REASONS[i % REASONS.len()]);
        live.insert(norm(&serial), REASONS[i % REASONS.len()]);
        items.push(item);
    }
    items.extend((0..EXPIRED_ON_THE_CRL).map(|_| entry(authority_id, -3600, RevocationReason::KeyCompromise).1));
    items.extend((0..EXPIRED_IN_THE_STORE).map(|_| entry(authority_id, -3 * 86_400, RevocationReason::KeyCompromise).1));
    for chunk in items.chunks(100) {
        let writes = chunk.iter().map(|item| Write::Put { item: item.clone(), condition: Condition::Absent }).collect();
        env.ports.store.transact(writes).await.unwrap();
    }
    live
}

async fn completeness(env: Env) {
    let authority = env.root("Busy Root").await;
    let live = revocations(&env, &authority).await;
    let mut first = Query::partition(format!("REVOKED#{authority}"));
    first.limit = 1000;
    assert!(env.ports.store.query(first).await.unwrap().cursor.is_some(), "the revocations span more than one page of the store");
    env.pki().publish_crl(&authority, None).await.unwrap();
    let der = env.ports.blobs.get(&blob_key(&authority).unwrap()).await.unwrap().expect("a stored CRL");
    let (_, crl) = CertificateRevocationList::from_der(&der).unwrap();
    let mut listed = BTreeMap::new();
    for revoked in crl.iter_revoked_certificates() {
        let serial = norm(&revoked.raw_serial_as_string());
        let reason = revoked.reason_code().map(|(_, code)| code.0);
        assert!(listed.insert(serial, reason).is_none(), "a serial is listed twice");
    }
    assert_eq!(listed.len(), LIVE, "exactly the unexpired revocations are listed");
    for (serial, reason) in &live {
        assert_eq!(listed.get(serial), Some(&Some(reason.code())), "serial {serial}");
    }
    openssl_verifies(&env, &authority, &der).await;
}

async fn openssl_verifies(env: &Env, authority_id: &str, crl: &[u8]) {
    let ca = env.pki().chain(authority_id).await.unwrap().remove(0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crl.der"), crl).unwrap();
    std::fs::write(dir.path().join("ca.der"), ca).unwrap();
    let run = |args: &[&str]| std::process::Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
    assert!(run(&["x509", "-inform", "DER", "-in", "ca.der", "-out", "ca.pem"]).status.success());
    let out = run(&["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout"]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("verify OK"), "openssl: {text}");
}
