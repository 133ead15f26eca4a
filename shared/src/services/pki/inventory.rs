//! Reading the certificate inventory: by id, by common name, and filtered pages.

use super::records::{decode, CertStatus, CertificateRecord, Channel};
use super::{is_id, now, Pki, MAX_PAGE};
use crate::adapters::sealed_cursors::{refused_cursor, CursorSeal, ListBinding};
use crate::error::{Error, Result};
use crate::ports::{Index, Item, Query, SkRange};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;

/// Items examined per list call at most; a page may come back short, with a cursor.
const MAX_SCANNED: usize = 1000;
const SCAN_PAGE: u32 = 200;

/// `GET /certificates` filters (seed 004 inventory); all optional, combined with AND.
#[derive(Clone, Debug, Default)]
pub struct CertFilter {
    pub issuer_id: Option<String>,
    /// As [`CertificateRecord::effective_status`] computes it.
    pub status: Option<CertStatus>,
    pub subject_id: Option<String>,
    /// Only certificates whose notAfter is before this instant.
    pub expiring_before: Option<OffsetDateTime>,
    /// As [`CertificateRecord::channel`] reads it.
    pub channel: Option<Channel>,
}

impl CertFilter {
    fn matches(&self, cert: &CertificateRecord, now: OffsetDateTime) -> bool {
        self.status.is_none_or(|s| cert.effective_status(now) == s)
            && self.subject_id.as_ref().is_none_or(|s| cert.subject_id.as_ref() == Some(s))
            && self.expiring_before.is_none_or(|t| cert.not_after < t)
            && self.channel.is_none_or(|c| cert.channel() == c)
    }
}

/// Where a listing stopped: the issuer partition and the last certificate id examined in it.
/// Callers see it only sealed under the filter's [`CertFilter::binding`].
#[derive(Serialize, Deserialize)]
struct Position {
    issuer: String,
    after: Option<String>,
}

impl CertFilter {
    /// What a cursor of this listing is bound to: every filter, so a cursor works only for the
    /// filter that returned it.
    fn binding(&self) -> ListBinding {
        let expiring_before = self.expiring_before.map(|t| t.unix_timestamp_nanos().to_string());
        ListBinding::new("certificates")
            .filter("issuerId", self.issuer_id.as_deref())
            .filter("status", self.status.map(CertStatus::state))
            .filter("subjectId", self.subject_id.as_deref())
            .filter("expiringBefore", expiring_before.as_deref())
            .filter("channel", self.channel.map(Channel::as_str))
    }
}

/// Ids are fixed-length UUIDs of `[0-9a-f-]`, so `<id>~` sorts after `id` and before every
/// later id, and `~` after all of them.
fn after(id: Option<&String>) -> SkRange {
    match id {
        Some(id) => SkRange::Between(format!("{id}~"), "~".into()),
        None => SkRange::All,
    }
}

impl Pki {
    /// The certificate, or 404.
    pub async fn get_certificate(&self, id: &str) -> Result<CertificateRecord> {
        decode(&self.certificate_item(id).await?)
    }

    pub(crate) async fn certificate_item(&self, id: &str) -> Result<Item> {
        let missing = || Error::NotFound(format!("certificate {id}"));
        if !is_id(id) {
            return Err(missing());
        }
        self.ports.store.get(&format!("CERT#{id}"), "CERT").await?.ok_or_else(missing)
    }

    /// Every certificate ever issued for `common_name` in any channel (the admin views' one
    /// inventory), oldest first.
    pub async fn certificates_by_common_name(&self, common_name: &str) -> Result<Vec<CertificateRecord>> {
        self.named(common_name, &Channel::ALL).await
    }

    /// Every certificate ever issued for `name` in `channel` only, oldest first.
    pub async fn certificates_named(&self, channel: Channel, name: &str) -> Result<Vec<CertificateRecord>> {
        self.named(name, &[channel]).await
    }

    /// The certificates of `name` in `channels`: their `CN#<channel>#` partitions and the
    /// legacy `CN#<name>` one, each certificate once, in creation (UUIDv7) order.
    async fn named(&self, name: &str, channels: &[Channel]) -> Result<Vec<CertificateRecord>> {
        let mut ids = std::collections::BTreeSet::new();
        for partition in channels.iter().map(|c| c.name_key(name)).chain([format!("CN#{name}")]) {
            ids.extend(self.pointers(partition).await?);
        }
        let mut certs = Vec::new();
        for id in ids {
            let cert = self.get_certificate(&id).await?;
            if cert.common_name == name && channels.contains(&cert.channel()) {
                certs.push(cert);
            }
        }
        Ok(certs)
    }

    async fn pointers(&self, partition: String) -> Result<Vec<String>> {
        let mut query = Query::partition(partition);
        let mut ids = Vec::new();
        loop {
            let page = self.ports.store.query(query.clone()).await?;
            ids.extend(page.items.into_iter().map(|pointer| pointer.sk));
            match page.cursor {
                Some(next) => query.cursor = Some(next),
                None => return Ok(ids),
            }
        }
    }

    /// The deployment's cursor seal, for the lists whose cursors a service builds itself.
    pub(crate) async fn cursor_seal(&self) -> Result<Arc<CursorSeal>> {
        CursorSeal::of(&self.ports.mac).await
    }

    /// A page of certificates matching `filter`, by issuer (creation order), then by id. The
    /// cursor is sealed and bound to `filter`; any other is a `Validation` error.
    pub async fn list_certificates(&self, filter: &CertFilter, limit: u32, cursor: Option<&str>) -> Result<(Vec<CertificateRecord>, Option<String>)> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::validation(format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let issuers = match &filter.issuer_id {
            Some(id) => vec![id.clone()],
            None => self.all_authorities().await?.into_iter().map(|a| a.id).collect(),
        };
        let start = self.open_position(filter, cursor).await?;
        let first = match &start {
            Some(p) => issuers.iter().position(|i| *i == p.issuer).ok_or_else(refused_cursor)?,
            None => 0,
        };
        let mut position = start.and_then(|p| p.after);
        let (now, mut found, mut scanned) = (now(), Vec::new(), 0);
        for issuer in &issuers[first..] {
            loop {
                let query = Query { index: Index::Gsi1, pk: format!("CERTS#{issuer}"), range: after(position.as_ref()), limit: SCAN_PAGE, cursor: None, descending: false };
                let page = self.ports.store.query(query).await?;
                for item in &page.items {
                    let cert: CertificateRecord = decode(item)?;
                    scanned += 1;
                    position = Some(cert.id.clone());
                    if filter.matches(&cert, now) {
                        found.push(cert);
                    }
                    if found.len() == limit as usize || scanned >= MAX_SCANNED {
                        let next = self.seal_position(filter, Position { issuer: issuer.clone(), after: position }).await?;
                        return Ok((found, Some(next)));
                    }
                }
                if page.cursor.is_none() {
                    break;
                }
            }
            position = None;
        }
        Ok((found, None))
    }

    async fn open_position(&self, filter: &CertFilter, cursor: Option<&str>) -> Result<Option<Position>> {
        let Some(sealed) = cursor else { return Ok(None) };
        let plain = self.cursor_seal().await?.open_list(&filter.binding(), sealed)?;
        serde_json::from_str(&plain).map(Some).map_err(|_| refused_cursor())
    }

    async fn seal_position(&self, filter: &CertFilter, position: Position) -> Result<String> {
        let plain = serde_json::to_string(&position).map_err(Error::internal)?;
        self.cursor_seal().await?.seal_list(&filter.binding(), &plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_after_range_starts_just_past_an_id_and_covers_every_later_one() {
        let (a, b) = ("0190a1b2-0000-7000-8000-000000000001", "0190a1b2-0000-7000-8000-000000000002");
        let SkRange::Between(low, high) = after(Some(&a.to_owned())) else { panic!("not a range") };
        assert!(a < low.as_str() && low.as_str() < b && b < high.as_str());
        assert_eq!(after(None), SkRange::All);
    }

    #[test]
    fn every_filter_is_part_of_the_binding() {
        let base = CertFilter::default();
        let at = OffsetDateTime::UNIX_EPOCH;
        let variants = [
            CertFilter { issuer_id: Some("i".into()), ..base.clone() },
            CertFilter { status: Some(CertStatus::Valid), ..base.clone() },
            CertFilter { subject_id: Some("s".into()), ..base.clone() },
            CertFilter { expiring_before: Some(at), ..base.clone() },
            CertFilter { channel: Some(Channel::Pki), ..base.clone() },
        ];
        for (i, a) in variants.iter().enumerate() {
            assert_ne!(a.binding(), base.binding(), "{a:?}");
            assert!(variants[i + 1..].iter().all(|b| a.binding() != b.binding()), "{a:?}");
        }
        let later = CertFilter { expiring_before: Some(at + time::Duration::nanoseconds(1)), ..base.clone() };
        assert_ne!(later.binding(), variants[3].binding());
    }
}
