//! Opaque list cursors: a [`Store`] decorator that seals every cursor a query hands out and
//! opens every cursor a query is given.
//!
//! A sealed cursor is base64url (no padding) of `nonce ‖ AES-256-GCM(store cursor)`, with a
//! random 96-bit nonce and, as additional data, the query's binding: index, partition key,
//! sort-key range and direction. Callers therefore see nothing of the key layout (entity
//! prefixes, credential hashes), and a cursor from another list, another partition (filter),
//! or an edited or forged one fails to open and is refused with a `Validation` error.
//!
//! The 256-bit key is the deployment's [`MacKey`] applied to [`KEY_DERIVATION_LABEL`], derived
//! on the first query that needs it and kept for the life of the process; every process of a
//! deployment (and every restart) derives the same key, so cursors outlive the process that
//! sealed them.

use crate::error::{Error, Result};
use crate::ports::{Condition, Index, Item, MacKey, Page, Query, SkRange, Store, Write};
use async_trait::async_trait;
use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The message the deployment's MAC key MACs to derive the cursor-sealing key. The JWTs the
/// same key MACs always start with `eyJ`, so the two uses never share a message.
pub const KEY_DERIVATION_LABEL: &[u8] = b"trustplane/cursor-sealing-key/v1";

/// Prefixes every binding, so a future cursor format cannot open under this one's.
const BINDING_LABEL: &[u8] = b"trustplane/cursor/v1";

/// The length of an AES-GCM tag.
const TAG_LEN: usize = 16;

/// The refusal of any cursor that does not open under the query it came with.
fn refused() -> Error {
    Error::validation("cursor is not one this list returned")
}

/// A [`Store`] whose query cursors are sealed and bound to their query; every other
/// operation passes straight through to the wrapped store.
pub struct SealedCursors {
    inner: Arc<dyn Store>,
    mac: Arc<dyn MacKey>,
    key: OnceCell<RandomizedNonceKey>,
}

impl SealedCursors {
    /// Wraps `inner`, sealing its cursors with a key derived from `mac` (the deployment's MAC
    /// key in custody). Nothing is derived until a cursor has to be sealed or opened.
    pub fn new(inner: Arc<dyn Store>, mac: Arc<dyn MacKey>) -> Self {
        SealedCursors { inner, mac, key: OnceCell::new() }
    }

    async fn key(&self) -> Result<&RandomizedNonceKey> {
        self.key
            .get_or_try_init(|| async {
                let bytes = self.mac.mac(KEY_DERIVATION_LABEL).await?;
                RandomizedNonceKey::new(&AES_256_GCM, &bytes)
                    .map_err(|_| Error::internal("the MAC key did not yield a 256-bit cursor-sealing key"))
            })
            .await
    }

    async fn seal(&self, binding: &[u8], cursor: String) -> Result<String> {
        let key = self.key().await?;
        let mut ciphertext = cursor.into_bytes();
        let nonce = key
            .seal_in_place_append_tag(Aad::from(binding), &mut ciphertext)
            .map_err(|_| Error::internal("cannot seal a list cursor"))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(nonce.as_ref());
        sealed.extend_from_slice(&ciphertext);
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }

    async fn open(&self, binding: &[u8], sealed: &str) -> Result<String> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| refused())?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(refused());
        }
        let key = self.key().await?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut in_out = ciphertext.to_vec();
        let plain = key.open_in_place(nonce, Aad::from(binding), &mut in_out).map_err(|_| refused())?;
        String::from_utf8(plain.to_vec()).map_err(|_| refused())
    }
}

/// What a cursor is bound to: the query minus its page size and cursor, each variable-length
/// field prefixed with its length so no two queries share a binding.
fn binding(query: &Query) -> Vec<u8> {
    let index = match query.index {
        Index::Primary => 0u8,
        Index::Gsi1 => 1,
    };
    let (range, bounds): (u8, Vec<&str>) = match &query.range {
        SkRange::All => (0, vec![]),
        SkRange::Eq(sk) => (1, vec![sk]),
        SkRange::BeginsWith(prefix) => (2, vec![prefix]),
        SkRange::Between(from, to) => (3, vec![from, to]),
    };
    let mut aad = BINDING_LABEL.to_vec();
    aad.extend_from_slice(&[index, u8::from(query.descending), range]);
    for field in std::iter::once(query.pk.as_str()).chain(bounds) {
        aad.extend_from_slice(&(field.len() as u64).to_be_bytes());
        aad.extend_from_slice(field.as_bytes());
    }
    aad
}

#[async_trait]
impl Store for SealedCursors {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>> {
        self.inner.get(pk, sk).await
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

    /// The wrapped store's page, with the incoming cursor opened and the outgoing one sealed
    /// under this query's binding. A cursor that does not open is a `Validation` error.
    async fn query(&self, mut query: Query) -> Result<Page> {
        let binding = binding(&query);
        if let Some(sealed) = query.cursor.take() {
            query.cursor = Some(self.open(&binding, &sealed).await?);
        }
        let mut page = self.inner.query(query).await?;
        if let Some(cursor) = page.cursor.take() {
            page.cursor = Some(self.seal(&binding, cursor).await?);
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pk: &str, range: SkRange) -> Query {
        Query { range, ..Query::partition(pk) }
    }

    #[test]
    fn bindings_differ_whenever_the_list_differs() {
        let base = query("AB", SkRange::BeginsWith("C".into()));
        let variants = [
            query("A", SkRange::BeginsWith("BC".into())),
            query("AB", SkRange::Eq("C".into())),
            query("AB", SkRange::Between("C".into(), String::new())),
            query("AB", SkRange::All),
            Query { index: Index::Gsi1, ..base.clone() },
            Query { descending: true, ..base.clone() },
        ];
        for other in &variants {
            assert_ne!(binding(&base), binding(other), "{other:?}");
        }
        let next_page = Query { limit: 7, cursor: Some("x".into()), ..base.clone() };
        assert_eq!(binding(&base), binding(&next_page));
    }
}
