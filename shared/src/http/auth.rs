//! `X-API-Key` authentication (seed 002's header) for every endpoint group.

use super::state::AppState;
use crate::domain::Scope;
use crate::error::{Error, Result};
use crate::services::api_keys::ApiKeyRecord;
use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;

/// The request header carrying the key.
pub const HEADER: &str = "x-api-key";

/// The authenticated caller: a known, unrevoked API key.
#[derive(Clone, Debug)]
pub struct Caller(pub ApiKeyRecord);

impl Caller {
    /// `Ok` if the key holds `scope` (or `admin`), else 403.
    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.0.scopes.grants(scope) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("API key lacks scope {}", scope.as_str())))
        }
    }

    /// The key's id, for audit records.
    pub fn key_id(&self) -> &str {
        &self.0.id
    }
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::Unauthorized("missing API key (X-API-Key header)".into()))?;
        let state = AppState::from_ref(state);
        let record = state.api_keys.authenticate(presented).await?;
        Ok(Caller(record))
    }
}
