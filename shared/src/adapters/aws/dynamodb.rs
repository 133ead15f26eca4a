//! [`Store`] on one DynamoDB table in the single-table design (README, "Key design").

use super::sdk_error;
use crate::error::{Error, Result};
use crate::ports::{Condition, Index, IndexKey, Item, Page, Query, SkRange, Store, Write};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use base64::Engine as _;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

type Attrs = HashMap<String, AttributeValue>;
type Names = HashMap<String, String>;

/// The most writes one `TransactWriteItems` call accepts.
const MAX_TRANSACTION_WRITES: usize = 100;

/// Items live in attributes `PK`, `SK`, `GSI1PK`/`GSI1SK` (only with an index key), `ttl`
/// (Number, unix seconds, only with an expiry), `ver` (Number), `state` (optional) and
/// `data` (the JSON text). DynamoDB's TTL deletion is lazy, so reads and conditions treat an
/// item whose `ttl` has passed as absent.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table` (attributes as above; GSI `GSI1` on `GSI1PK`/`GSI1SK`).
    pub fn new(client: Client, table: String) -> Self {
        DynamoStore { client, table }
    }
}

/// A condition expression with its placeholders (DynamoDB "Condition expressions").
struct Expr {
    text: String,
    names: Names,
    values: Attrs,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn expired(item: &Item, now: i64) -> bool {
    item.expires_at.is_some_and(|t| t <= now)
}

fn key(pk: &str, sk: &str) -> Attrs {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

/// The expression for `condition`; `None` for [`Condition::Always`].
fn condition_expr(condition: &Condition, now: i64) -> Option<Expr> {
    const LIVE: &str = "(attribute_not_exists(#ttl) OR #ttl > :now)";
    let (text, extra) = match condition {
        Condition::Always => return None,
        Condition::Absent => ("attribute_not_exists(PK) OR #ttl <= :now".to_owned(), None),
        Condition::Exists => (format!("attribute_exists(PK) AND {LIVE}"), None),
        Condition::Version(v) => (format!("#ver = :ver AND {LIVE}"), Some(("ver", n(v)))),
        Condition::State(st) => (format!("#state = :state AND {LIVE}"), Some(("state", s(st)))),
    };
    let mut names = Names::from([("#ttl".to_owned(), "ttl".to_owned())]);
    let mut values = Attrs::from([(":now".to_owned(), n(now))]);
    if let Some((attr, value)) = extra {
        names.insert(format!("#{attr}"), attr.to_owned());
        values.insert(format!(":{attr}"), value);
    }
    Some(Expr { text, names, values })
}

/// The expression split into the three optional request fields.
fn parts(expr: Option<Expr>) -> (Option<String>, Option<Names>, Option<Attrs>) {
    match expr {
        Some(e) => (Some(e.text), Some(e.names), Some(e.values)),
        None => (None, None, None),
    }
}

fn to_attrs(item: &Item) -> Result<Attrs> {
    let data = serde_json::to_string(&item.data).map_err(Error::internal)?;
    let mut attrs = key(&item.pk, &item.sk);
    attrs.insert("ver".into(), n(item.version));
    attrs.insert("data".into(), s(data));
    if let Some(IndexKey { pk, sk }) = &item.gsi1 {
        attrs.insert("GSI1PK".into(), s(pk));
        attrs.insert("GSI1SK".into(), s(sk));
    }
    if let Some(ttl) = item.expires_at {
        attrs.insert("ttl".into(), n(ttl));
    }
    if let Some(state) = &item.state {
        attrs.insert("state".into(), s(state));
    }
    Ok(attrs)
}

fn malformed(attr: &str) -> Error {
    Error::internal(format!("DynamoDB item has a missing or malformed {attr:?} attribute"))
}

fn text(attrs: &Attrs, name: &str) -> Option<String> {
    attrs.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn number<T: std::str::FromStr>(attrs: &Attrs, name: &str) -> Result<Option<T>> {
    attrs.get(name).map(|v| v.as_n().ok().and_then(|raw| raw.parse().ok()).ok_or_else(|| malformed(name))).transpose()
}

fn from_attrs(attrs: &Attrs) -> Result<Item> {
    let required = |name: &str| text(attrs, name).ok_or_else(|| malformed(name));
    let data = serde_json::from_str(&required("data")?).map_err(|_| malformed("data"))?;
    let gsi1 = match (text(attrs, "GSI1PK"), text(attrs, "GSI1SK")) {
        (Some(pk), Some(sk)) => Some(IndexKey { pk, sk }),
        _ => None,
    };
    Ok(Item {
        pk: required("PK")?,
        sk: required("SK")?,
        gsi1,
        expires_at: number(attrs, "ttl")?,
        version: number(attrs, "ver")?.ok_or_else(|| malformed("ver"))?,
        state: text(attrs, "state"),
        data,
    })
}

/// The opaque page cursor: base64url of the JSON object of `LastEvaluatedKey`'s strings.
fn encode_cursor(last_key: &Attrs) -> Result<String> {
    let strings = last_key
        .iter()
        .map(|(k, v)| v.as_s().map(|s| (k.clone(), s.clone())).map_err(|_| malformed(k)))
        .collect::<Result<HashMap<_, _>>>()?;
    let json = serde_json::to_vec(&strings).map_err(Error::internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
}

/// The `ExclusiveStartKey` of `cursor`, which must belong to partition `pk` of `pk_attr`.
fn decode_cursor(cursor: &str, pk_attr: &str, pk: &str) -> Result<Attrs> {
    const KEY_ATTRS: [&str; 4] = ["PK", "SK", "GSI1PK", "GSI1SK"];
    let invalid = || Error::validation("invalid cursor");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let strings: HashMap<String, String> = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if strings.get(pk_attr).map(String::as_str) != Some(pk) || strings.keys().any(|k| !KEY_ATTRS.contains(&k.as_str()))
    {
        return Err(invalid());
    }
    Ok(strings.into_iter().map(|(k, v)| (k, s(v))).collect())
}

/// The key condition of `query` on the key attributes `#pk`/`#sk`, with its values.
fn key_condition(query: &Query) -> (&'static str, Attrs) {
    let mut values = Attrs::from([(":pk".to_owned(), s(&query.pk))]);
    let text = match &query.range {
        SkRange::All => return ("#pk = :pk", values),
        SkRange::BeginsWith(prefix) if prefix.is_empty() => return ("#pk = :pk", values),
        SkRange::Eq(sk) => {
            values.insert(":sk".into(), s(sk));
            "#pk = :pk AND #sk = :sk"
        }
        SkRange::BeginsWith(prefix) => {
            values.insert(":sk".into(), s(prefix));
            "#pk = :pk AND begins_with(#sk, :sk)"
        }
        SkRange::Between(low, high) => {
            values.insert(":lo".into(), s(low));
            values.insert(":hi".into(), s(high));
            "#pk = :pk AND #sk BETWEEN :lo AND :hi"
        }
    };
    (text, values)
}

/// A cancelled transaction is a `Conflict` when any of its conditions failed (DynamoDB
/// `TransactionCanceledException`, `CancellationReasons`).
fn transact_error(err: SdkError<TransactWriteItemsError>) -> Error {
    if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() {
        let codes: Vec<&str> = e.cancellation_reasons().iter().filter_map(|r| r.code()).collect();
        if codes.contains(&"ConditionalCheckFailed") {
            return Error::Conflict("transaction condition failed".into());
        }
        if codes
            .iter()
            .any(|c| matches!(*c, "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"))
        {
            return Error::Unavailable(format!("TransactWriteItems cancelled: {}", codes.join(", ")));
        }
    }
    sdk_error("TransactWriteItems", err)
}

impl DynamoStore {
    /// One write of a transaction; `None` for a check that always holds.
    fn transact_item(&self, write: Write, now: i64) -> Result<Option<TransactWriteItem>> {
        let builder = TransactWriteItem::builder();
        let built = match write {
            Write::Put { item, condition } => {
                let (text, names, values) = parts(condition_expr(&condition, now));
                let put = Put::builder().table_name(&self.table).set_item(Some(to_attrs(&item)?));
                let put = put.set_condition_expression(text).set_expression_attribute_names(names);
                builder.put(put.set_expression_attribute_values(values).build().map_err(Error::internal)?)
            }
            Write::Delete { pk, sk, condition } => {
                let (text, names, values) = parts(condition_expr(&condition, now));
                let delete = Delete::builder().table_name(&self.table).set_key(Some(key(&pk, &sk)));
                let delete = delete.set_condition_expression(text).set_expression_attribute_names(names);
                builder.delete(delete.set_expression_attribute_values(values).build().map_err(Error::internal)?)
            }
            Write::Check { pk, sk, condition } => {
                let Some(expr) = condition_expr(&condition, now) else { return Ok(None) };
                let check = ConditionCheck::builder().table_name(&self.table).set_key(Some(key(&pk, &sk)));
                let check = check.condition_expression(expr.text).set_expression_attribute_names(Some(expr.names));
                builder.condition_check(
                    check.set_expression_attribute_values(Some(expr.values)).build().map_err(Error::internal)?,
                )
            }
        };
        Ok(Some(built.build()))
    }
}

#[async_trait]
impl Store for DynamoStore {
    /// `GetItem` with strong consistency; an expired item reads as absent.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        let item = out.item().map(from_attrs).transpose()?;
        Ok(item.filter(|i| !expired(i, now())))
    }

    /// `PutItem` with the condition as a `ConditionExpression`.
    async fn put(&self, item: Item, condition: Condition) -> Result<()> {
        let (text, names, values) = parts(condition_expr(&condition, now()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&item)?))
            .set_condition_expression(text)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }

    /// `DeleteItem` with the condition as a `ConditionExpression`.
    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<()> {
        let (text, names, values) = parts(condition_expr(&condition, now()));
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .set_condition_expression(text)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem", e))?;
        Ok(())
    }

    /// `TransactWriteItems`; any failed condition cancels it as `Conflict`.
    async fn transact(&self, writes: Vec<Write>) -> Result<()> {
        if writes.len() > MAX_TRANSACTION_WRITES {
            return Err(Error::internal(format!("a transaction holds at most {MAX_TRANSACTION_WRITES} writes")));
        }
        let now = now();
        let mut items = Vec::with_capacity(writes.len());
        for write in writes {
            items.extend(self.transact_item(write, now)?);
        }
        if items.is_empty() {
            return Ok(());
        }
        self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(transact_error)?;
        Ok(())
    }

    /// `Query` on the table or on `GSI1`, one page; expired items are left out of the page.
    async fn query(&self, query: Query) -> Result<Page> {
        let (pk_attr, sk_attr, index) = match query.index {
            Index::Primary => ("PK", "SK", None),
            Index::Gsi1 => ("GSI1PK", "GSI1SK", Some("GSI1".to_owned())),
        };
        let start = query.cursor.as_deref().map(|c| decode_cursor(c, pk_attr, &query.pk)).transpose()?;
        let (condition, values) = key_condition(&query);
        let mut names = Names::from([("#pk".to_owned(), pk_attr.to_owned())]);
        if condition.contains("#sk") {
            names.insert("#sk".into(), sk_attr.into());
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(index.is_none())
            .set_index_name(index)
            .key_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!query.descending)
            .limit(query.limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        let now = now();
        let mut items = Vec::with_capacity(out.items().len());
        for attrs in out.items() {
            let item = from_attrs(attrs)?;
            if !expired(&item, now) {
                items.push(item);
            }
        }
        let cursor = out.last_evaluated_key().map(encode_cursor).transpose()?;
        Ok(Page { items, cursor })
    }
}
