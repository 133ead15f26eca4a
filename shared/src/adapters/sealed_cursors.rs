//! Opaque list cursors: a [`Store`] decorator that seals every cursor a query hands out and
//! opens every cursor a query is given, and [`CursorSeal`], which seals the cursors a service
//! builds itself (a position across several partitions, a filter applied after the query).
//!
//! A sealed cursor is base64url (no padding) of `nonce ‖ AES-256-GCM(cursor)`, with a random
//! 96-bit nonce and, as additional data, what the cursor is bound to: for a store query its
//! index, partition key, sort-key range and direction; for a service's list its name and
//! filters ([`ListBinding`]). Callers therefore see nothing of the key layout (entity
//! prefixes, credential hashes), and a cursor from another list, another partition or filter,
//! or an edited or forged one fails to open and is refused with a `Validation` error.
//!
//! The 256-bit key is the deployment's [`MacKey`] applied to [`KEY_DERIVATION_LABEL`], derived
//! once per process and MAC key instance; every process of a deployment (and every restart)
//! derives the same key, so cursors outlive the process that sealed them.

use crate::error::{Error, Result};
use crate::ports::{Condition, Index, Item, MacKey, Page, Query, SkRange, Store, Write};
use crate::warm::PerInstance;
use async_trait::async_trait;
use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::sync::Arc;

/// The message the deployment's MAC key MACs to derive the cursor-sealing key. The JWTs the
/// same key MACs always start with `eyJ`, so the two uses never share a message.
pub const KEY_DERIVATION_LABEL: &[u8] = b"trustplane/cursor-sealing-key/v1";

/// Prefixes every store query's binding, so a future cursor format cannot open under this one's.
const BINDING_LABEL: &[u8] = b"trustplane/cursor/v1";

/// Prefixes every service list's binding; differs from [`BINDING_LABEL`] within its first
/// bytes, so a store cursor never opens as a list cursor or the other way round.
const LIST_BINDING_LABEL: &[u8] = b"trustplane/list-cursor/v1";

/// The length of an AES-GCM tag.
const TAG_LEN: usize = 16;

/// The refusal of any cursor that does not open under the query or list it came with.
pub fn refused_cursor() -> Error {
    Error::validation("cursor is not one this list returned")
}

/// The deployment's cursor-sealing key.
pub struct CursorSeal {
    key: RandomizedNonceKey,
}

impl CursorSeal {
    /// The key of `mac`, derived at its first use in this process (one KMS `GenerateMac` per
    /// cold start on AWS, not one per request).
    pub async fn of(mac: &Arc<dyn MacKey>) -> Result<Arc<CursorSeal>> {
        static DERIVED: PerInstance<dyn MacKey, CursorSeal> = PerInstance::new();
        if let Some(found) = DERIVED.get(mac) {
            return Ok(found);
        }
        let bytes = mac.mac(KEY_DERIVATION_LABEL).await?;
        let key = RandomizedNonceKey::new(&AES_256_GCM, &bytes).map_err(|_| Error::internal("the MAC key did not yield a 256-bit cursor-sealing key"))?;
        Ok(DERIVED.insert(mac, Arc::new(CursorSeal { key })))
    }

    /// `cursor` sealed under a service list's `binding`.
    pub fn seal_list(&self, binding: &ListBinding, cursor: &str) -> Result<String> {
        self.seal(&binding.0, cursor)
    }

    /// Opens what [`CursorSeal::seal_list`] sealed under the same `binding`; anything else is
    /// a `Validation` error.
    pub fn open_list(&self, binding: &ListBinding, sealed: &str) -> Result<String> {
        self.open(&binding.0, sealed)
    }

    fn seal(&self, binding: &[u8], cursor: &str) -> Result<String> {
        let mut ciphertext = cursor.as_bytes().to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(binding), &mut ciphertext)
            .map_err(|_| Error::internal("cannot seal a list cursor"))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(nonce.as_ref());
        sealed.extend_from_slice(&ciphertext);
        Ok(URL_SAFE_NO_PAD.encode(sealed))
    }

    fn open(&self, binding: &[u8], sealed: &str) -> Result<String> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| refused_cursor())?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(refused_cursor());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused_cursor())?;
        let mut in_out = ciphertext.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(binding), &mut in_out).map_err(|_| refused_cursor())?;
        String::from_utf8(plain.to_vec()).map_err(|_| refused_cursor())
    }
}

/// What a service list's cursor is bound to: the list's name and each of its filters, present
/// or not, each variable-length field prefixed with its length so no two lists share a binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListBinding(Vec<u8>);

impl ListBinding {
    /// The binding of the list called `list` (e.g. `certificates`), before its filters.
    pub fn new(list: &str) -> Self {
        let mut binding = ListBinding(LIST_BINDING_LABEL.to_vec());
        binding.push(list);
        binding
    }

    /// Adds the filter `name` with its value, `None` when the request left it out.
    pub fn filter(mut self, name: &str, value: Option<&str>) -> Self {
        self.push(name);
        match value {
            Some(value) => {
                self.0.push(1);
                self.push(value);
            }
            None => self.0.push(0),
        }
        self
    }

    fn push(&mut self, field: &str) {
        self.0.extend_from_slice(&(field.len() as u64).to_be_bytes());
        self.0.extend_from_slice(field.as_bytes());
    }
}

/// A [`Store`] whose query cursors are sealed and bound to their query; every other
/// operation passes straight through to the wrapped store.
pub struct SealedCursors {
    inner: Arc<dyn Store>,
    mac: Arc<dyn MacKey>,
}

impl SealedCursors {
    /// Wraps `inner`, sealing its cursors with a key derived from `mac` (the deployment's MAC
    /// key in custody). Nothing is derived until a cursor has to be sealed or opened.
    pub fn new(inner: Arc<dyn Store>, mac: Arc<dyn MacKey>) -> Self {
        SealedCursors { inner, mac }
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
            query.cursor = Some(CursorSeal::of(&self.mac).await?.open(&binding, &sealed)?);
        }
        let mut page = self.inner.query(query).await?;
        if let Some(cursor) = page.cursor.take() {
            page.cursor = Some(CursorSeal::of(&self.mac).await?.seal(&binding, &cursor)?);
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

    struct HashMac;

    #[async_trait]
    impl MacKey for HashMac {
        async fn mac(&self, msg: &[u8]) -> Result<Vec<u8>> {
            use sha2::Digest;
            Ok(sha2::Sha256::digest(msg).to_vec())
        }
        async fn verify(&self, _: &[u8], _: &[u8]) -> Result<bool> {
            Ok(false)
        }
    }

    #[test]
    fn list_bindings_differ_by_list_filter_value_and_presence() {
        let base = ListBinding::new("certificates").filter("status", Some("VALID")).filter("channel", None);
        let variants = [
            ListBinding::new("provision-keys").filter("status", Some("VALID")).filter("channel", None),
            ListBinding::new("certificates").filter("status", Some("REVOKED")).filter("channel", None),
            ListBinding::new("certificates").filter("status", None).filter("channel", None),
            ListBinding::new("certificates").filter("status", Some("")).filter("channel", None),
            ListBinding::new("certificates").filter("statu", Some("sVALID")).filter("channel", None),
            ListBinding::new("certificates").filter("status", Some("VALID")).filter("channel", Some("pki")),
        ];
        for other in &variants {
            assert_ne!(base, *other, "{other:?}");
        }
        assert!(!base.0.starts_with(BINDING_LABEL), "a list binding is never a store binding");
    }

    #[tokio::test]
    async fn a_list_cursor_opens_only_under_its_own_binding_and_a_store_cursor_never_opens_as_one() {
        let mac: Arc<dyn MacKey> = Arc::new(HashMac);
        let seal = CursorSeal::of(&mac).await.unwrap();
        let unused = ListBinding::new("provision-keys").filter("state", Some("unused"));
        let sealed = seal.seal_list(&unused, "position").unwrap();
        assert!(!sealed.contains("position"));
        assert_eq!(seal.open_list(&unused, &sealed).unwrap(), "position");
        let used = ListBinding::new("provision-keys").filter("state", Some("used"));
        let store_cursor = seal.seal(&binding(&Query::partition("PKEYS")), "position").unwrap();
        for (what, binding, cursor) in [("another filter", &used, &sealed), ("a store cursor", &unused, &store_cursor)] {
            let refused = seal.open_list(binding, cursor).unwrap_err();
            assert_eq!(refused.public_message(), "cursor is not one this list returned", "{what}");
        }
    }
}
