//! Subjects: the Identity Service data seed 004 promotes to authorities and issues to.

use super::records::{decode, item, SubjectRecord};
use super::{is_id, new_id, now, Pki};
use crate::error::{Error, Result};
use crate::pki::SubjectName;
use crate::ports::Condition;

const INDEX_PK: &str = "SUBJECTS";

fn pk(id: &str) -> String {
    format!("SUBJECT#{id}")
}

impl Pki {
    /// Records a subject whose name [`SubjectName::parse`] has validated.
    pub async fn create_subject(&self, name: SubjectName) -> Result<SubjectRecord> {
        let record = SubjectRecord { id: new_id(), name, created_at: now() };
        let item = item(pk(&record.id), "SUBJECT", Some((INDEX_PK.into(), record.id.clone())), &record)?;
        self.ports.store.put(item, Condition::Absent).await?;
        Ok(record)
    }

    /// The subject, or 404.
    pub async fn get_subject(&self, id: &str) -> Result<SubjectRecord> {
        self.find_subject(id).await?.ok_or_else(|| Error::NotFound(format!("subject {id}")))
    }

    /// A page of subjects in creation order.
    pub async fn list_subjects(&self, limit: u32, cursor: Option<String>) -> Result<(Vec<SubjectRecord>, Option<String>)> {
        let page = self.index_page(INDEX_PK.into(), limit, cursor).await?;
        let subjects = page.items.iter().map(decode).collect::<Result<Vec<_>>>()?;
        Ok((subjects, page.cursor))
    }

    /// The subject a request body names, or 422 (seed 004: the CA trusts the Identity Service).
    pub(crate) async fn referenced_subject(&self, id: &str) -> Result<SubjectRecord> {
        self.find_subject(id).await?.ok_or_else(|| Error::Unprocessable(format!("subjectId {id:?} does not name a known subject")))
    }

    async fn find_subject(&self, id: &str) -> Result<Option<SubjectRecord>> {
        if !is_id(id) {
            return Ok(None);
        }
        if let Some(kept) = self.warm.subject(id) {
            return Ok(Some(kept));
        }
        let found: Option<SubjectRecord> = self.ports.store.get(&pk(id), "SUBJECT").await?.as_ref().map(decode).transpose()?;
        if let Some(subject) = &found {
            self.warm.keep_subject(subject);
        }
        Ok(found)
    }
}
