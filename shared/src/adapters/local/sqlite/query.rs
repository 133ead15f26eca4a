//! Sort-key range queries, a page at a time, with opaque cursors.

use super::{db_err, row_item, COLUMNS};
use crate::error::{Error, Result};
use crate::ports::{Index, Item, Page, Query, SkRange};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rusqlite::types::Value;
use rusqlite::Connection;

/// The position after which the next page starts: `[sk]` on the primary index,
/// `[gsi1sk, pk, sk]` on GSI1 (so equal index sort keys page stably).
pub(super) type Cursor = Vec<String>;

fn cursor_len(index: Index) -> usize {
    match index {
        Index::Primary => 1,
        Index::Gsi1 => 3,
    }
}

fn encode_cursor(item: &Item, index: Index) -> Result<String> {
    let key = match (index, &item.gsi1) {
        (Index::Primary, _) => vec![item.sk.clone()],
        (Index::Gsi1, Some(k)) => vec![k.sk.clone(), item.pk.clone(), item.sk.clone()],
        (Index::Gsi1, None) => return Err(Error::internal("GSI1 query returned an item without GSI1 key")),
    };
    Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&key).map_err(Error::internal)?))
}

pub(super) fn decode_cursor(raw: &str, index: Index) -> Result<Cursor> {
    let invalid = || Error::validation("invalid pagination cursor");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    let key: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if key.len() != cursor_len(index) {
        return Err(invalid());
    }
    Ok(key)
}

/// The least string greater than every string that starts with `prefix`, if there is one.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// SQL text and bound values of one query, built clause by clause.
struct Sql {
    text: String,
    args: Vec<Value>,
}

impl Sql {
    fn bind(&mut self, value: impl Into<Value>) -> String {
        self.args.push(value.into());
        format!("?{}", self.args.len())
    }

    fn push(&mut self, clause: &str) {
        self.text.push_str(clause);
    }
}

pub(super) fn query_page(conn: &Connection, q: &Query, cursor: Option<Cursor>, now: i64) -> Result<Page> {
    let (pk_col, sk_col) = match q.index {
        Index::Primary => ("pk", "sk"),
        Index::Gsi1 => ("gsi1pk", "gsi1sk"),
    };
    let mut sql = Sql { text: format!("SELECT {COLUMNS} FROM items WHERE "), args: Vec::new() };
    let (p, t) = (sql.bind(q.pk.clone()), sql.bind(now));
    sql.push(&format!("{pk_col} = {p} AND (ttl IS NULL OR ttl > {t})"));
    range_clause(&mut sql, sk_col, &q.range);
    let dir = if q.descending { "DESC" } else { "ASC" };
    let order = match q.index {
        Index::Primary => format!(" ORDER BY sk {dir}"),
        Index::Gsi1 => format!(" ORDER BY gsi1sk {dir}, pk {dir}, sk {dir}"),
    };
    if let Some(key) = cursor {
        let op = if q.descending { "<" } else { ">" };
        let bound: Vec<String> = key.into_iter().map(|k| sql.bind(k)).collect();
        let cols = if q.index == Index::Primary { "sk" } else { "gsi1sk, pk, sk" };
        sql.push(&format!(" AND ({cols}) {op} ({})", bound.join(", ")));
    }
    sql.push(&order);
    let fetch = sql.bind(i64::from(q.limit) + 1);
    sql.push(&format!(" LIMIT {fetch}"));
    let mut stmt = conn.prepare_cached(&sql.text).map_err(db_err)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(sql.args.iter()), row_item).map_err(db_err)?;
    let mut items = rows.collect::<rusqlite::Result<Vec<Item>>>().map_err(db_err)?;
    let more = items.len() > q.limit as usize;
    items.truncate(q.limit as usize);
    let cursor = match (more, items.last()) {
        (true, Some(last)) => Some(encode_cursor(last, q.index)?),
        _ => None,
    };
    Ok(Page { items, cursor })
}

fn range_clause(sql: &mut Sql, col: &str, range: &SkRange) {
    match range {
        SkRange::All => {}
        SkRange::Eq(v) => {
            let v = sql.bind(v.clone());
            sql.push(&format!(" AND {col} = {v}"));
        }
        SkRange::BeginsWith(prefix) => {
            let lo = sql.bind(prefix.clone());
            sql.push(&format!(" AND {col} >= {lo}"));
            if let Some(succ) = prefix_successor(prefix) {
                let hi = sql.bind(succ);
                sql.push(&format!(" AND {col} < {hi}"));
            }
        }
        SkRange::Between(from, to) => {
            let (lo, hi) = (sql.bind(from.clone()), sql.bind(to.clone()));
            sql.push(&format!(" AND {col} >= {lo} AND {col} <= {hi}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_bounds_exactly_the_strings_with_that_prefix() {
        assert_eq!(prefix_successor("CERT#"), Some("CERT$".into()));
        assert_eq!(prefix_successor("a\u{10FFFF}"), Some("b".into()));
        assert_eq!(prefix_successor("\u{D7FF}"), Some("\u{E000}".into()));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
        assert_eq!(prefix_successor(""), None);
    }
}
