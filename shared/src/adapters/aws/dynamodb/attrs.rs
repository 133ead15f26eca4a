//! Items as DynamoDB attributes, and the condition expressions of [`Condition`]s.

use crate::error::{Error, Result};
use crate::ports::{Condition, IndexKey, Item};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

pub(super) type Attrs = HashMap<String, AttributeValue>;
pub(super) type Names = HashMap<String, String>;

/// The attribute holding the id of the `PutItem` call that wrote the item, so a retried put
/// can recognise its own earlier write (never part of the domain [`Item`]).
pub(super) const WRITE_ID: &str = "wid";

/// A condition expression with its placeholders (DynamoDB "Condition expressions").
pub(super) struct Expr {
    pub text: String,
    pub names: Names,
    pub values: Attrs,
}

/// A string attribute.
pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Unix seconds now.
pub(super) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// True once the item's `ttl` has passed (DynamoDB deletes it later).
pub(super) fn expired(item: &Item, now: i64) -> bool {
    item.expires_at.is_some_and(|t| t <= now)
}

/// The primary key attributes of one item.
pub(super) fn key(pk: &str, sk: &str) -> Attrs {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

/// The expression for `condition`; `None` for [`Condition::Always`]. An item whose `ttl` is
/// at or before `now` counts as absent.
pub(super) fn condition_expr(condition: &Condition, now: i64) -> Option<Expr> {
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
pub(super) fn parts(expr: Option<Expr>) -> (Option<String>, Option<Names>, Option<Attrs>) {
    match expr {
        Some(e) => (Some(e.text), Some(e.names), Some(e.values)),
        None => (None, None, None),
    }
}

/// The attributes of `item` (README, "Storage").
pub(super) fn to_attrs(item: &Item) -> Result<Attrs> {
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

/// The error for a stored item the adapter cannot read back.
pub(super) fn malformed(attr: &str) -> Error {
    Error::internal(format!("DynamoDB item has a missing or malformed {attr:?} attribute"))
}

/// A string attribute's value, if present.
pub(super) fn text(attrs: &Attrs, name: &str) -> Option<String> {
    attrs.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn number<T: std::str::FromStr>(attrs: &Attrs, name: &str) -> Result<Option<T>> {
    attrs.get(name).map(|v| v.as_n().ok().and_then(|raw| raw.parse().ok()).ok_or_else(|| malformed(name))).transpose()
}

/// The item stored as `attrs`.
pub(super) fn from_attrs(attrs: &Attrs) -> Result<Item> {
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
