//! Reading the certificate inventory: by id, by common name, and filtered pages.

use super::records::{decode, CertStatus, CertificateRecord, Channel};
use super::{is_id, now, Pki, MAX_PAGE};
use crate::error::{Error, Result};
use crate::ports::{Index, Item, Query, SkRange};
use base64::Engine;
use serde::{Deserialize, Serialize};
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
#[derive(Serialize, Deserialize)]
struct Cursor {
    issuer: String,
    after: Option<String>,
}

impl Cursor {
    fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(raw: &str) -> Result<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).map_err(|_| Error::validation("invalid cursor"))?;
        serde_json::from_slice(&bytes).map_err(|_| Error::validation("invalid cursor"))
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

    /// A page of certificates matching `filter`, by issuer (creation order), then by id.
    pub async fn list_certificates(&self, filter: &CertFilter, limit: u32, cursor: Option<&str>) -> Result<(Vec<CertificateRecord>, Option<String>)> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::validation(format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let issuers = match &filter.issuer_id {
            Some(id) => vec![id.clone()],
            None => self.all_authorities().await?.into_iter().map(|a| a.id).collect(),
        };
        let start = cursor.map(Cursor::decode).transpose()?;
        let first = match &start {
            Some(c) => issuers.iter().position(|i| *i == c.issuer).ok_or_else(|| Error::validation("invalid cursor"))?,
            None => 0,
        };
        let mut position = start.and_then(|c| c.after);
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
                        return Ok((found, Some(Cursor { issuer: issuer.clone(), after: position }.encode())));
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
    fn cursors_round_trip_and_garbage_is_a_400() {
        let cursor = Cursor { issuer: "i".into(), after: Some("c".into()) }.encode();
        let back = Cursor::decode(&cursor).unwrap();
        assert_eq!((back.issuer.as_str(), back.after.as_deref()), ("i", Some("c")));
        assert!(matches!(Cursor::decode("!!"), Err(Error::Validation(_))));
    }
}
