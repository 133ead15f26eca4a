//! End-to-end CRL freshness of `trustplane serve` (RFC 5280 §5.1.2.5): a server that comes
//! back after its CRLs passed half their validity republishes them at start-up, with
//! nextUpdate − thisUpdate = `CRL_VALIDITY_HOURS`, rather than after its first period.

mod common;

use common::Server;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use trustplane_core::config::Config;
use trustplane_core::ports::{Condition, Item};
use trustplane_core::services::pki::{CrlState, Pki};
use trustplane_core::wiring::Ports;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

/// The embedded backend in `data_dir` (while no server runs on it).
async fn open(data_dir: &Path) -> (Ports, Pki) {
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = data_dir.to_path_buf();
    let (ports, _queue) = trustplane_core::wiring::open(&config).await.unwrap();
    (ports.clone(), Pki::new(ports, std::sync::Arc::new(config)))
}

/// Moves every authority's CRL state `hours` into the past (the server is stopped); returns
/// each authority's CRL number.
async fn age_every_crl(data_dir: &Path, hours: u64) -> BTreeMap<String, u64> {
    let (ports, pki) = open(data_dir).await;
    let mut numbers = BTreeMap::new();
    for authority in pki.all_authorities().await.unwrap() {
        let pk = format!("CRLSTATE#{}", authority.id);
        let current = ports.store.get(&pk, "CRL").await.unwrap().expect("a CRL state");
        let mut state: CrlState = serde_json::from_value(current.data.clone()).unwrap();
        state.this_update -= Duration::from_secs(hours * 3600);
        state.next_update -= Duration::from_secs(hours * 3600);
        numbers.insert(authority.id.clone(), state.number);
        let aged = Item { data: serde_json::to_value(&state).unwrap(), version: current.version + 1, ..current.clone() };
        ports.store.put(aged, Condition::Version(current.version)).await.unwrap();
    }
    numbers
}

/// The CRL Number of `/crl/<id>.crl` as the server serves it now.
fn served_number(server: &Server, authority_id: &str, scratch: &Path) -> Option<u64> {
    let file = scratch.join(format!("{authority_id}.crl"));
    let (code, _) = server.curl(&[&format!("/crl/{authority_id}.crl"), "-o", file.to_str().unwrap()]);
    (code == 200).then(|| trustplane_core::pki::crl::number(&std::fs::read(&file).unwrap())).flatten()
}

#[test]
fn serve_republishes_crls_past_half_their_validity_at_start_up() {
    let (data, scratch) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    Server::start(data.path()).stop();
    let before = runtime().block_on(age_every_crl(data.path(), 13));
    assert!(before.len() >= 2, "serve created the default hierarchy: {before:?}");
    let server = Server::start_with(data.path(), &[("CRL_VALIDITY_HOURS", "20")]);
    let deadline = Instant::now() + Duration::from_secs(20);
    for (authority_id, old) in &before {
        while served_number(&server, authority_id, scratch.path()).is_none_or(|n| n <= *old) {
            assert!(Instant::now() < deadline, "the stale CRL of {authority_id} (number {old}) was not republished at start-up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let served: BTreeMap<String, u64> = before.keys().map(|id| (id.clone(), served_number(&server, id, scratch.path()).unwrap())).collect();
    let stopped = server.stop();
    assert!(stopped.status.success(), "{}", stopped.stderr);
    let rt = runtime();
    let (_, pki) = rt.block_on(open(data.path()));
    for (authority_id, number) in served {
        let state = rt.block_on(pki.crl_state(&authority_id)).unwrap().unwrap();
        assert_eq!((state.number, state.published), (number, true), "the state names the served CRL");
        assert_eq!((state.next_update - state.this_update).whole_seconds(), 20 * 3600, "nextUpdate − thisUpdate is CRL_VALIDITY_HOURS");
    }
}
