//! Query pages: the page size, the key condition, and the cursor that carries
//! `LastEvaluatedKey` to the next page's `ExclusiveStartKey`.

use super::attrs::{malformed, s, Attrs};
use crate::error::{Error, Result};
use crate::ports::{Index, Query, SkRange};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::collections::HashMap;

/// The largest page a query may ask for (as the embedded store).
pub(super) const MAX_LIMIT: u32 = 1000;

/// The refusal of a cursor that is not one this adapter handed out for the query.
pub(super) fn invalid_cursor() -> Error {
    Error::validation("invalid pagination cursor")
}

/// The page size of `query`, refused (as the embedded store refuses it) outside 1..=1000.
pub(super) fn page_size(query: &Query) -> Result<i32> {
    match query.limit {
        limit @ 1..=MAX_LIMIT => Ok(limit as i32),
        _ => Err(Error::validation(format!("query limit must be between 1 and {MAX_LIMIT}"))),
    }
}

/// The partition and sort key attributes an index's pages are keyed on.
pub(super) fn key_attrs(index: Index) -> (&'static str, &'static str) {
    match index {
        Index::Primary => ("PK", "SK"),
        Index::Gsi1 => ("GSI1PK", "GSI1SK"),
    }
}

/// The attributes a `LastEvaluatedKey` of `index` holds: the table's key, plus the index's.
fn position_attrs(index: Index) -> &'static [&'static str] {
    match index {
        Index::Primary => &["PK", "SK"],
        Index::Gsi1 => &["PK", "SK", "GSI1PK", "GSI1SK"],
    }
}

/// The opaque page cursor: base64url of the JSON object of `LastEvaluatedKey`'s strings.
pub(super) fn encode_cursor(last_key: &Attrs) -> Result<String> {
    let strings = last_key
        .iter()
        .map(|(k, v)| v.as_s().map(|s| (k.clone(), s.clone())).map_err(|_| malformed(k)))
        .collect::<Result<HashMap<_, _>>>()?;
    let json = serde_json::to_vec(&strings).map_err(Error::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// The `ExclusiveStartKey` of `cursor`. It must name exactly the key attributes of the
/// query's index, non-empty, in the query's partition and inside its sort-key range, so
/// DynamoDB never sees a start key it would refuse.
pub(super) fn decode_cursor(cursor: &str, query: &Query) -> Result<Attrs> {
    let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid_cursor())?;
    let strings: HashMap<String, String> = serde_json::from_slice(&json).map_err(|_| invalid_cursor())?;
    let expected = position_attrs(query.index);
    let complete = strings.len() == expected.len() && expected.iter().all(|k| strings.get(*k).is_some_and(|v| !v.is_empty()));
    let (pk_attr, sk_attr) = key_attrs(query.index);
    if !complete || strings[pk_attr] != query.pk || !in_range(&strings[sk_attr], &query.range) {
        return Err(invalid_cursor());
    }
    Ok(strings.into_iter().map(|(k, v)| (k, s(v))).collect())
}

/// True if `sk` is a sort key the range selects (DynamoDB compares strings by their bytes).
fn in_range(sk: &str, range: &SkRange) -> bool {
    match range {
        SkRange::All => true,
        SkRange::Eq(value) => sk == value,
        SkRange::BeginsWith(prefix) => sk.starts_with(prefix.as_str()),
        SkRange::Between(low, high) => low.as_str() <= sk && sk <= high.as_str(),
    }
}

/// The key condition of `query` on the key attributes `#pk`/`#sk`, with its values.
pub(super) fn key_condition(query: &Query) -> (&'static str, Attrs) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cursor(value: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap())
    }

    fn gsi_query(range: SkRange) -> Query {
        Query { index: Index::Gsi1, range, ..Query::partition("LIST") }
    }

    #[test]
    fn a_cursor_this_adapter_made_opens_for_its_own_query() {
        let last = Attrs::from([
            ("PK".to_owned(), s("ITEM#1")),
            ("SK".to_owned(), s("ITEM")),
            ("GSI1PK".to_owned(), s("LIST")),
            ("GSI1SK".to_owned(), s("b#1")),
        ]);
        let query = gsi_query(SkRange::BeginsWith("b#".into()));
        assert_eq!(decode_cursor(&encode_cursor(&last).unwrap(), &query).unwrap(), last);
    }

    #[test]
    fn cursors_dynamodb_would_refuse_are_validation_errors() {
        let full = |sk: &str| json!({ "PK": "I", "SK": "I", "GSI1PK": "LIST", "GSI1SK": sk });
        let refused = [
            ("not base64", "%%%".to_owned(), SkRange::All),
            ("not JSON", URL_SAFE_NO_PAD.encode(b"[1,2"), SkRange::All),
            ("not strings", cursor(json!({ "PK": 1, "SK": "I", "GSI1PK": "LIST", "GSI1SK": "a" })), SkRange::All),
            ("the table key only", cursor(json!({ "GSI1PK": "LIST", "GSI1SK": "a" })), SkRange::All),
            ("an extra attribute", cursor(json!({ "PK": "I", "SK": "I", "GSI1PK": "LIST", "GSI1SK": "a", "x": "y" })), SkRange::All),
            ("an empty key", cursor(full("")), SkRange::All),
            ("another partition", cursor(json!({ "PK": "I", "SK": "I", "GSI1PK": "OTHER", "GSI1SK": "a" })), SkRange::All),
            ("outside the prefix", cursor(full("c#1")), SkRange::BeginsWith("b#".into())),
            ("outside the span", cursor(full("z")), SkRange::Between("a".into(), "m".into())),
            ("not the exact key", cursor(full("a")), SkRange::Eq("b".into())),
        ];
        for (what, raw, range) in refused {
            let err = decode_cursor(&raw, &gsi_query(range)).unwrap_err();
            assert!(matches!(&err, Error::Validation(m) if m == "invalid pagination cursor"), "{what}: {err:?}");
        }
    }

    #[test]
    fn page_sizes_outside_one_to_a_thousand_are_refused_as_on_the_embedded_store() {
        for limit in [0, 1001, u32::MAX] {
            let err = page_size(&Query { limit, ..Query::partition("P") }).unwrap_err();
            assert!(matches!(&err, Error::Validation(m) if m == "query limit must be between 1 and 1000"), "{limit}: {err:?}");
        }
        assert_eq!(page_size(&Query { limit: 1000, ..Query::partition("P") }).unwrap(), 1000);
    }
}
