//! The default issuer's bootstrap (what `serve` and `admin init-ca` run on first start, and
//! what the CA signs with) on a deployment that has none yet, on the embedded backend
//! (`::sqlite`) and on the AWS adapters against moto (`::moto`): first starts racing each
//! other create one hierarchy, an abandoned bootstrap is taken over after its lease, and a
//! store that cannot be read is an error, never "no issuer yet".

use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use trustplane_core::http::AppState;
use trustplane_core::on_both_backends;
use trustplane_core::ports::{Condition, Item, Page, Query, Store, Write};
use trustplane_core::services::default_issuer::{default_issuer, ensure_default_hierarchy};
use trustplane_core::services::pki::{AuthorityType, Pki};
use trustplane_core::testkit::{local_state, moto};
use trustplane_core::{Error, Result};

on_both_backends!(
    concurrent_first_starts_create_one_default_hierarchy,
    an_abandoned_bootstrap_is_taken_over_after_its_lease_and_a_live_one_is_waited_for,
    a_store_error_while_reading_the_setting_fails_the_bootstrap_and_creates_nothing,
);

const SETTING_PK: &str = "SETTING#default-issuer";

/// A deployment without a default issuer.
struct Backend {
    state: AppState,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    async fn sqlite() -> Self {
        let (state, dir) = local_state().await;
        Backend { state, _dir: Some(dir) }
    }

    async fn moto() -> Self {
        Backend { state: moto::state().await, _dir: None }
    }

    fn pki(&self) -> Pki {
        Pki::new(self.state.ports.clone(), self.state.config.clone())
    }

    /// One first start's bootstrap over `store`.
    async fn bootstrap(&self, store: &dyn Store) -> Result<String> {
        ensure_default_hierarchy(&self.pki(), &self.state.config, store).await
    }

    /// Asserts the deployment holds exactly one hierarchy, a root and its issuing CA `issuing`.
    async fn assert_one_hierarchy(&self, issuing: &str) {
        let all = self.pki().all_authorities().await.unwrap();
        let kinds: Vec<AuthorityType> = all.iter().map(|a| a.kind).collect();
        assert_eq!(kinds, [AuthorityType::Root, AuthorityType::Intermediate], "one root and one issuing CA: {:?}", all.iter().map(|a| &a.id).collect::<Vec<_>>());
        assert_eq!(all[1].id, issuing);
        assert_eq!(all[1].parent_authority_id.as_deref(), Some(all[0].id.as_str()));
        assert_eq!(default_issuer(&self.state.config, self.state.ports.store.as_ref()).await.unwrap(), issuing);
    }
}

async fn concurrent_first_starts_create_one_default_hierarchy(b: Backend) {
    let b = Arc::new(b);
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let (b, barrier) = (b.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                b.bootstrap(b.state.ports.store.as_ref()).await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for start in starts {
        ids.push(start.await.unwrap().expect("every first start gets the default issuer"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "they agree on one issuer: {ids:?}");
    b.assert_one_hierarchy(&ids[0]).await;
}

/// A bootstrap claim as a first start leaves it while it creates the hierarchy, with its lease
/// ending at `until` (unix seconds).
fn claim(until: i64) -> Item {
    let mut item = Item::new(SETTING_PK, "SETTING", json!({ "claimId": "a-process-that-died", "claimUntil": until }));
    item.state = Some("creating".into());
    item
}

async fn an_abandoned_bootstrap_is_taken_over_after_its_lease_and_a_live_one_is_waited_for(b: Backend) {
    let store = b.state.ports.store.clone();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    store.put(claim(now + 60), Condition::Absent).await.unwrap();
    let waiting = {
        let (pki, config, store) = (b.pki(), b.state.config.clone(), store.clone());
        tokio::spawn(async move { ensure_default_hierarchy(&pki, &config, store.as_ref()).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(!waiting.is_finished(), "a live claim is waited for");
    assert!(b.pki().all_authorities().await.unwrap().is_empty(), "and nothing is created meanwhile");
    let elsewhere = uuid::Uuid::now_v7().to_string();
    let mut recorded = Item::new(SETTING_PK, "SETTING", json!({ "authorityId": elsewhere }));
    recorded.version = 2;
    store.put(recorded, Condition::Version(1)).await.unwrap();
    assert_eq!(waiting.await.unwrap().unwrap(), elsewhere, "the waiter takes what the claim's holder recorded");

    store.delete(SETTING_PK, "SETTING", Condition::Always).await.unwrap();
    store.put(claim(now - 1), Condition::Absent).await.unwrap();
    let issuing = b.bootstrap(store.as_ref()).await.expect("an abandoned claim is taken over");
    b.assert_one_hierarchy(&issuing).await;
}

/// The deployment's store, except that its first `failures` reads of the default issuer
/// setting fail as a throttled DynamoDB read does.
struct ThrottledSettingReads {
    inner: Arc<dyn Store>,
    failures: AtomicUsize,
}

#[async_trait::async_trait]
impl Store for ThrottledSettingReads {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        let throttled = pk == SETTING_PK && self.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        match throttled {
            true => Err(Error::Unavailable("GetItem: ProvisionedThroughputExceededException: injected".into())),
            false => self.inner.get(pk, sk).await,
        }
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<()> {
        self.inner.put(item, condition).await
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<()> {
        self.inner.delete(pk, sk, condition).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<()> {
        self.inner.transact(writes).await
    }

    async fn query(&self, query: Query) -> Result<Page> {
        self.inner.query(query).await
    }
}

async fn a_store_error_while_reading_the_setting_fails_the_bootstrap_and_creates_nothing(b: Backend) {
    let throttled = ThrottledSettingReads { inner: b.state.ports.store.clone(), failures: AtomicUsize::new(2) };
    let failed = b.bootstrap(&throttled).await.expect_err("a store error is not \"no issuer yet\"");
    assert_eq!(failed.status(), http::StatusCode::SERVICE_UNAVAILABLE, "{failed}");
    assert!(failed.to_string().contains("injected"), "the store's own error: {failed}");
    assert!(b.pki().all_authorities().await.unwrap().is_empty(), "no hierarchy was created");
    let unread = default_issuer(&b.state.config, &throttled).await.expect_err("the setting could not be read");
    assert!(unread.to_string().contains("injected"), "not \"no default issuing authority\": {unread}");

    let issuing = b.bootstrap(&throttled).await.expect("the store answers again");
    b.assert_one_hierarchy(&issuing).await;
}
