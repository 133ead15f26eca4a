//! [`Store`] on one DynamoDB table in the single-table design (README, "Storage").

mod attrs;
mod paging;
mod retry;

use crate::error::{Error, Result};
use crate::ports::{Condition, Index, Item, Page, Query, Store, Write};
use async_trait::async_trait;
use attrs::{condition_expr, expired, from_attrs, key, now, parts, s, to_attrs, Attrs, Names, WRITE_ID};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use paging::{decode_cursor, encode_cursor, invalid_cursor, key_attrs, key_condition, page_size};
use retry::{classify, classify_transaction, put_outcome, retrying, Backoff, Failure};

/// The most writes one `TransactWriteItems` call accepts.
const MAX_TRANSACTION_WRITES: usize = 100;

/// The most `Query` calls one page may take to fill up past expired items.
const MAX_QUERY_ROUNDS: usize = 4;

/// Items live in attributes `PK`, `SK`, `GSI1PK`/`GSI1SK` (only with an index key), `ttl`
/// (Number, unix seconds, only with an expiry), `ver` (Number), `state` (optional), `data`
/// (the JSON text) and `wid` (the id of the `PutItem` call that wrote it). DynamoDB's TTL
/// deletion is lazy, so reads and conditions treat an item whose `ttl` has passed as absent.
///
/// Calls refused for contention (throttling, transaction conflicts) are repeated a bounded
/// number of times with jittered backoff, then answer `Unavailable`. A conditional put whose
/// success response was lost, and which the SDK then repeated, recognises its own write and
/// succeeds; a lost delete's repeat still reports the `Conflict` it meets.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// How many times, at most, a call refused for contention is made.
    pub const MAX_ATTEMPTS: u32 = Backoff::CONTENTION.attempts;

    /// A store on `table` (attributes as above; GSI `GSI1` on `GSI1PK`/`GSI1SK`).
    pub fn new(client: Client, table: String) -> Self {
        DynamoStore { client, table }
    }

    /// One write of a transaction; `None` for a check that always holds.
    fn transact_item(&self, write: Write, now: i64) -> Result<Option<TransactWriteItem>> {
        let built = match write {
            Write::Put { item, condition } => {
                let (text, names, values) = parts(condition_expr(&condition, now));
                let put = Put::builder().table_name(&self.table).set_item(Some(to_attrs(&item)?));
                let put = put.set_condition_expression(text).set_expression_attribute_names(names);
                TransactWriteItem::builder().put(put.set_expression_attribute_values(values).build().map_err(Error::internal)?)
            }
            Write::Delete { pk, sk, condition } => {
                let (text, names, values) = parts(condition_expr(&condition, now));
                let delete = Delete::builder().table_name(&self.table).set_key(Some(key(&pk, &sk)));
                let delete = delete.set_condition_expression(text).set_expression_attribute_names(names);
                TransactWriteItem::builder()
                    .delete(delete.set_expression_attribute_values(values).build().map_err(Error::internal)?)
            }
            Write::Check { pk, sk, condition } => {
                let Some(expr) = condition_expr(&condition, now) else { return Ok(None) };
                let check = ConditionCheck::builder().table_name(&self.table).set_key(Some(key(&pk, &sk)));
                let check = check.condition_expression(expr.text).set_expression_attribute_names(Some(expr.names));
                TransactWriteItem::builder()
                    .condition_check(check.set_expression_attribute_values(Some(expr.values)).build().map_err(Error::internal)?)
            }
        };
        Ok(Some(built.build()))
    }

    /// One `Query` call of `query` from `start`, at most `limit` items. DynamoDB refusing a
    /// start key that came from the caller's cursor is an invalid cursor.
    async fn query_once(&self, query: &Query, start: Option<Attrs>, from_caller: bool, limit: i32) -> Result<QueryOutput> {
        let (pk_attr, sk_attr) = key_attrs(query.index);
        let index = (query.index == Index::Gsi1).then(|| "GSI1".to_owned());
        let (condition, values) = key_condition(query);
        let mut names = Names::from([("#pk".to_owned(), pk_attr.to_owned())]);
        if condition.contains("#sk") {
            names.insert("#sk".into(), sk_attr.into());
        }
        let cursor_given = from_caller && start.is_some();
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(index.is_none())
            .set_index_name(index)
            .key_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!query.descending)
            .limit(limit)
            .set_exclusive_start_key(start);
        retrying(Backoff::CONTENTION, || async {
            request.clone().send().await.map_err(|err| match err.code() {
                Some("ValidationException") if cursor_given => Failure::Final(invalid_cursor()),
                _ => classify("Query", err),
            })
        })
        .await
    }
}

/// A fresh write id: a random UUID (122 random bits).
fn write_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[async_trait]
impl Store for DynamoStore {
    /// `GetItem` with strong consistency; an expired item reads as absent.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        let request = self.client.get_item().table_name(&self.table).set_key(Some(key(pk, sk))).consistent_read(true);
        let out = retrying(Backoff::CONTENTION, || async {
            request.clone().send().await.map_err(|e| classify("GetItem", e))
        })
        .await?;
        let item = out.item().map(from_attrs).transpose()?;
        Ok(item.filter(|i| !expired(i, now())))
    }

    /// `PutItem` with the condition as a `ConditionExpression`, writing a fresh `wid` and
    /// asking for the item that fails the condition, to tell a lost success from a conflict.
    async fn put(&self, item: Item, condition: Condition) -> Result<()> {
        let id = write_id();
        let mut attrs = to_attrs(&item)?;
        attrs.insert(WRITE_ID.into(), s(&id));
        let (text, names, values) = parts(condition_expr(&condition, now()));
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attrs))
            .set_condition_expression(text)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        retrying(Backoff::CONTENTION, || async {
            match request.clone().send().await {
                Ok(_) => Ok(()),
                Err(err) => put_outcome(err, &id),
            }
        })
        .await
    }

    /// `DeleteItem` with the condition as a `ConditionExpression`.
    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<()> {
        let (text, names, values) = parts(condition_expr(&condition, now()));
        let request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .set_condition_expression(text)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values);
        retrying(Backoff::CONTENTION, || async {
            request.clone().send().await.map(drop).map_err(|e| classify("DeleteItem", e))
        })
        .await
    }

    /// `TransactWriteItems`; any failed condition cancels it as `Conflict`, a conflicting
    /// transaction or throttling makes the adapter try it again.
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
        let request = self.client.transact_write_items().set_transact_items(Some(items));
        retrying(Backoff::CONTENTION, || async {
            request.clone().send().await.map(drop).map_err(classify_transaction)
        })
        .await
    }

    /// `Query` on the table or on `GSI1`, one page. Expired items are left out, and the page
    /// is topped up from the following items (a few calls at most), so it is short only at
    /// DynamoDB's 1 MB boundary or after many expired items; its cursor then still leads on.
    async fn query(&self, query: Query) -> Result<Page> {
        let limit = page_size(&query)?;
        let mut start = query.cursor.as_deref().map(|c| decode_cursor(c, &query)).transpose()?;
        let mut items = Vec::new();
        for round in 0..MAX_QUERY_ROUNDS {
            let wanted = limit - items.len() as i32;
            let out = self.query_once(&query, start.take(), round == 0, wanted).await?;
            let now = now();
            for attrs in out.items() {
                let item = from_attrs(attrs)?;
                if !expired(&item, now) {
                    items.push(item);
                }
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() || items.len() == limit as usize {
                break;
            }
        }
        let cursor = start.as_ref().map(encode_cursor).transpose()?;
        Ok(Page { items, cursor })
    }
}
