//! The DynamoDB adapter against moto behind a fault-injecting HTTP proxy: DynamoDB's answers
//! moto never gives (a transaction cancelled for a `TransactionConflict`, a write refused with
//! `TransactionConflictException`, throttling, a start key it refuses) and a success whose
//! response is lost, so the SDK repeats a conditional put that already landed.
//!
//! Needs the moto server at `TRUSTPLANE_TEST_AWS_ENDPOINT` (as the contract suite).

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trustplane_core::adapters::aws::{bootstrap, DynamoStore};
use trustplane_core::config::Config;
use trustplane_core::ports::{Condition, Item, Query, Store, Write};
use trustplane_core::Error;

/// How many times the test SDK client makes a call before giving up (the SDK's own retry).
const SDK_ATTEMPTS: u32 = 3;

/// What the proxy does with the next request of an operation.
#[derive(Clone)]
enum Fault {
    /// Answers with this DynamoDB error (HTTP status, body) without forwarding.
    Refuse(u16, Value),
    /// Forwards to moto, then answers 500 instead of moto's answer.
    LoseResponse,
}

fn error(kind: &str, message: &str) -> Value {
    json!({ "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message })
}

fn transaction_conflict() -> Fault {
    let reasons = json!([{ "Code": "None" }, { "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" }]);
    let body = json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",
        "CancellationReasons": reasons,
    });
    Fault::Refuse(400, body)
}

fn conflict_with_transaction() -> Fault {
    Fault::Refuse(400, error("TransactionConflictException", "Transaction is ongoing for the item"))
}

fn throttled() -> Fault {
    Fault::Refuse(400, error("ThrottlingException", "Rate of requests exceeds the allowed throughput."))
}

/// The proxy's script and record, per operation (`PutItem`, `TransactWriteItems`, ...).
#[derive(Default)]
struct Script {
    faults: HashMap<String, VecDeque<Fault>>,
    seen: HashMap<String, u32>,
}

struct Proxy {
    moto: String,
    client: Client<HttpConnector, Full<Bytes>>,
    script: Mutex<Script>,
}

impl Proxy {
    fn inject(&self, operation: &str, faults: impl IntoIterator<Item = Fault>) {
        self.script.lock().unwrap().faults.entry(operation.into()).or_default().extend(faults);
    }

    fn seen(&self, operation: &str) -> u32 {
        self.script.lock().unwrap().seen.get(operation).copied().unwrap_or(0)
    }

    fn next_fault(&self, operation: &str) -> Option<Fault> {
        let mut script = self.script.lock().unwrap();
        *script.seen.entry(operation.into()).or_default() += 1;
        script.faults.get_mut(operation).and_then(VecDeque::pop_front)
    }

    async fn forward(&self, parts: &http::request::Parts, body: Bytes) -> Response {
        let uri = format!("{}{}", self.moto, parts.uri.path_and_query().map_or("/", |p| p.as_str()));
        let mut request = http::Request::builder().method(parts.method.clone()).uri(uri);
        for (name, value) in parts.headers.iter().filter(|(name, _)| *name != http::header::HOST) {
            request = request.header(name, value);
        }
        let answer = self.client.request(request.body(Full::new(body)).unwrap()).await.expect("moto answers");
        let (parts, body) = answer.into_parts();
        let bytes = body.collect().await.expect("moto's body").to_bytes();
        Response::from_parts(parts, Body::from(bytes))
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn handle(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("request body");
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
    match proxy.next_fault(&operation) {
        Some(Fault::Refuse(status, body)) => json_response(status, &body),
        Some(Fault::LoseResponse) => {
            proxy.forward(&parts, body).await;
            json_response(500, &error("InternalServerError", "Internal server error"))
        }
        None => proxy.forward(&parts, body).await,
    }
}

async fn sdk_config(endpoint: &str) -> SdkConfig {
    let retry = RetryConfig::standard().with_max_attempts(SDK_ATTEMPTS).with_initial_backoff(Duration::from_millis(5));
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "dynamodb-faults"))
        .retry_config(retry)
        .load()
        .await
}

/// A fresh table on moto, and the adapter on it through a new proxy.
async fn store_behind_proxy() -> (DynamoStore, Arc<Proxy>) {
    let moto = std::env::var("TRUSTPLANE_TEST_AWS_ENDPOINT").unwrap_or_default();
    assert!(!moto.is_empty(), "TRUSTPLANE_TEST_AWS_ENDPOINT is not set: these tests need a moto server (infra/test.sh)");
    let name = format!("tp-faults-{}", uuid::Uuid::new_v4().simple());
    let vars = HashMap::from([("TRUSTPLANE_BACKEND", "aws"), ("TABLE_NAME", name.as_str()), ("CRL_BUCKET", &name), ("STACK_NAME", &name)]);
    let config = Config::from_lookup(|k| vars.get(k).map(|v| v.to_string())).expect("configuration");
    let config = bootstrap::create_resources_with(&sdk_config(&moto).await, &config).await.expect("moto resources");
    let client = Client::builder(TokioExecutor::new()).build_http();
    let proxy = Arc::new(Proxy { moto, client, script: Mutex::default() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(handle).with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config(&url).await);
    (DynamoStore::new(dynamodb, config.table_name), proxy)
}

fn item(pk: &str, version: u64) -> Item {
    Item { version, ..Item::new(pk, "ITEM", json!({ "n": version })) }
}

fn put(item: Item, condition: Condition) -> Write {
    Write::Put { item, condition }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_cancelled_for_a_transaction_conflict_is_retried_until_it_commits() {
    let (store, proxy) = store_behind_proxy().await;
    proxy.inject("TransactWriteItems", [transaction_conflict(), transaction_conflict()]);
    store.transact(vec![put(item("A", 1), Condition::Absent), put(item("B", 1), Condition::Absent)]).await.expect("transaction");
    assert_eq!(proxy.seen("TransactWriteItems"), 3);
    assert!(store.get("A", "ITEM").await.unwrap().is_some() && store.get("B", "ITEM").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_that_keeps_conflicting_is_unavailable_after_a_bounded_number_of_tries() {
    let (store, proxy) = store_behind_proxy().await;
    proxy.inject("TransactWriteItems", std::iter::repeat_n(transaction_conflict(), 20));
    let result = store.transact(vec![put(item("A", 1), Condition::Absent)]).await;
    assert!(matches!(result, Err(Error::Unavailable(_))), "{result:?}");
    assert_eq!(proxy.seen("TransactWriteItems"), DynamoStore::MAX_ATTEMPTS);
    assert_eq!(store.get("A", "ITEM").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_put_refused_for_a_transaction_in_flight_is_retried_and_lands() {
    let (store, proxy) = store_behind_proxy().await;
    proxy.inject("PutItem", [conflict_with_transaction()]);
    store.put(item("A", 1), Condition::Absent).await.expect("put");
    assert_eq!(proxy.seen("PutItem"), 2);
    assert_eq!(store.get("A", "ITEM").await.unwrap(), Some(item("A", 1)));
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_that_outlasts_the_sdk_retries_is_retried_by_the_adapter() {
    let (store, proxy) = store_behind_proxy().await;
    proxy.inject("PutItem", std::iter::repeat_n(throttled(), SDK_ATTEMPTS as usize + 1));
    store.put(item("A", 1), Condition::Absent).await.expect("put");
    assert_eq!(proxy.seen("PutItem"), SDK_ATTEMPTS + 2);
    assert_eq!(store.get("A", "ITEM").await.unwrap(), Some(item("A", 1)));
}

#[tokio::test(flavor = "multi_thread")]
async fn lasting_throttling_is_unavailable_after_a_bounded_number_of_calls() {
    let (store, proxy) = store_behind_proxy().await;
    proxy.inject("GetItem", std::iter::repeat_n(throttled(), 100));
    let result = store.get("A", "ITEM").await;
    assert!(matches!(result, Err(Error::Unavailable(_))), "{result:?}");
    let calls = proxy.seen("GetItem");
    assert!(calls > SDK_ATTEMPTS && calls <= SDK_ATTEMPTS * DynamoStore::MAX_ATTEMPTS, "{calls} calls");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conditional_put_whose_success_response_was_lost_reports_success() {
    let (store, proxy) = store_behind_proxy().await;
    proxy.inject("PutItem", [Fault::LoseResponse]);
    store.put(item("A", 1), Condition::Absent).await.expect("put if absent, answered on the SDK's repeat");
    proxy.inject("PutItem", [Fault::LoseResponse]);
    store.put(item("A", 2), Condition::Version(1)).await.expect("versioned update, answered on the SDK's repeat");
    assert_eq!(proxy.seen("PutItem"), 4, "each put was repeated once by the SDK");
    assert_eq!(store.get("A", "ITEM").await.unwrap(), Some(item("A", 2)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_put_meeting_an_identical_item_written_by_another_call_still_conflicts() {
    let (store, _proxy) = store_behind_proxy().await;
    store.put(item("A", 1), Condition::Absent).await.expect("first writer");
    let second = store.put(item("A", 1), Condition::Absent).await;
    assert!(matches!(second, Err(Error::Conflict(_))), "{second:?}");
    store.put(item("A", 2), Condition::Version(1)).await.expect("first update");
    let stale = store.put(item("A", 2), Condition::Version(1)).await;
    assert!(matches!(stale, Err(Error::Conflict(_))), "{stale:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_start_key_dynamodb_refuses_is_an_invalid_cursor_not_a_fault() {
    let (store, proxy) = store_behind_proxy().await;
    for pk in ["A", "B", "C"] {
        store.put(Item::new("LIST", pk, json!({})), Condition::Always).await.unwrap();
    }
    let first = store.query(Query { limit: 1, ..Query::partition("LIST") }).await.unwrap();
    let refusal = Fault::Refuse(400, json!({ "__type": "com.amazon.coral.validate#ValidationException", "message": "The provided starting key is invalid" }));
    proxy.inject("Query", [refusal]);
    let next = store.query(Query { limit: 1, cursor: first.cursor, ..Query::partition("LIST") }).await;
    assert!(matches!(&next, Err(Error::Validation(m)) if m == "invalid pagination cursor"), "{next:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_is_filled_past_expired_items_and_its_cursor_leads_on() {
    let (store, _proxy) = store_behind_proxy().await;
    let expired = |sk: &str| Item { expires_at: Some(1), ..Item::new("LIST", sk, json!({})) };
    for sk in ["a", "b", "c"] {
        store.put(expired(sk), Condition::Always).await.unwrap();
    }
    for sk in ["d", "e", "f"] {
        store.put(Item::new("LIST", sk, json!({})), Condition::Always).await.unwrap();
    }
    let page = store.query(Query { limit: 2, ..Query::partition("LIST") }).await.unwrap();
    let sks: Vec<&str> = page.items.iter().map(|i| i.sk.as_str()).collect();
    assert_eq!(sks, ["d", "e"]);
    let rest = store.query(Query { limit: 2, cursor: page.cursor, ..Query::partition("LIST") }).await.unwrap();
    assert_eq!(rest.items.iter().map(|i| i.sk.as_str()).collect::<Vec<_>>(), ["f"]);
}
