//! `http-01` challenges (RFC 8555 §8.3): a client's POST marks the challenge `processing`;
//! the validation then fetches `http://<name>:<port>/.well-known/acme-challenge/<token>`
//! through the [`Http01Client`] port and compares the body with the key authorization
//! (§8.1: token "." RFC 7638 thumbprint of the account key) in a worker, as a queued
//! [`Job::ValidateAcmeChallenge`] (the job queue's consumer on AWS, `serve`'s in-process queue).
//! The authorization turns valid or invalid with the challenge, each write under a version
//! condition, so a repeated validation (a redelivered job) changes nothing.

use super::problem::ProblemType;
use super::records::{AuthzRecord, AuthzStatus, ChallengeStatus};
use super::{Acme, SignedRequest, Urls};
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::ports::{Condition, Item};
use async_trait::async_trait;

/// Why an `http-01` response could not be used, as the challenge's error reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Http01Failure {
    /// No connection, or no complete answer in time (`connection`).
    Connection(String),
    /// An answer that is not 200 with a small body (`incorrectResponse`).
    Response(String),
}

/// Fetches `http-01` responses: the adapter resolves the name, connects and reads the body.
#[async_trait]
pub trait Http01Client: Send + Sync {
    /// The body at `http://<domain>:<port>/.well-known/acme-challenge/<token>` (RFC 8555 §8.3).
    async fn fetch(&self, domain: &str, port: u16, token: &str) -> std::result::Result<Vec<u8>, Http01Failure>;
}

/// The key authorization of `token` for the account key with `thumbprint` (RFC 8555 §8.1).
pub fn key_authorization(token: &str, thumbprint: &str) -> String {
    format!("{token}.{thumbprint}")
}

/// Whether `body` is `expected`, trailing whitespace aside (RFC 8555 §8.3 lets servers
/// ignore it); the mismatch as the challenge reports it.
fn check_body(body: &[u8], expected: &str) -> std::result::Result<(), Http01Failure> {
    let text = std::str::from_utf8(body).map_err(|_| Http01Failure::Response("the response is not UTF-8".into()))?;
    if text.trim_end() == expected {
        Ok(())
    } else {
        Err(Http01Failure::Response(format!("the response is not the key authorization: {}", crate::error::echo(text))))
    }
}

impl Acme {
    /// POST to a challenge: POST-as-GET reads it; a payload (`{}`) asks for validation
    /// (RFC 8555 §7.5.1), which marks a pending challenge `processing` and queues
    /// [`Job::ValidateAcmeChallenge`] for a worker ([`Acme::run_validation_job`]): the answer
    /// does not wait for it. A challenge already processing or done is left as it is.
    pub async fn respond_to_challenge(&self, urls: &Urls, url: &str, jws: &SignedRequest, authz_id: &str) -> Result<AuthzRecord> {
        let account = self.authenticate(urls, url, jws).await?.account()?;
        let (authz, stored) = self.owned_authz(&account.id, authz_id).await?;
        if jws.is_post_as_get() {
            return Ok(authz);
        }
        jws.payload::<serde_json::Map<String, serde_json::Value>>()?;
        let pending = authz.status_at(crate::clock::now()) == AuthzStatus::Pending && authz.challenge.status == ChallengeStatus::Pending;
        if !pending {
            return Ok(authz);
        }
        let mut started = authz.clone();
        started.challenge.status = ChallengeStatus::Processing;
        let written = self.authz_item(&started, Some(&stored))?;
        match self.ports.store.put(written.clone(), Condition::Version(stored.version)).await {
            Ok(()) => self.queue_validation(authz, &written).await.map(|()| started),
            Err(Error::Conflict(_)) => Ok(self.owned_authz(&account.id, authz_id).await?.0),
            Err(e) => Err(e),
        }
    }

    /// Queues the validation of the challenge just `written` as processing; if the job cannot
    /// be queued, the challenge is put back as it was (`pending`), so that the client's next
    /// POST asks again instead of waiting on a validation that never runs.
    async fn queue_validation(&self, pending: AuthzRecord, written: &Item) -> Result<()> {
        let job = Job::ValidateAcmeChallenge { authority_id: pending.authority_id.clone(), authz_id: pending.id.clone() };
        let Err(e) = job.enqueue(self.ports.queue.as_ref()).await else { return Ok(()) };
        let undo = self.authz_item(&pending, Some(written))?;
        if let Err(undone) = self.ports.store.put(undo, Condition::Version(written.version)).await {
            tracing::error!(authz_id = %pending.id, error = %undone, "a challenge whose validation could not be queued stays processing");
        }
        Err(e)
    }

    /// Runs a queued [`Job::ValidateAcmeChallenge`] ([`Acme::validate_challenge`]). A job for
    /// an authorization that no longer exists, or whose outcome another delivery recorded
    /// meanwhile, is done; any other failure leaves it queued for another attempt.
    pub async fn run_validation_job(&self, authz_id: &str) -> Result<()> {
        match self.validate_challenge(authz_id).await {
            Ok(authz) => tracing::info!(authz_id, status = ?authz.challenge.status, "http-01 validation recorded"),
            Err(Error::Conflict(_)) => tracing::info!(authz_id, "http-01 validation recorded by another delivery"),
            Err(e) if e.status() == http::StatusCode::NOT_FOUND => tracing::warn!(authz_id, "dropping the validation of an unknown authorization"),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Validates the processing challenge of `authz_id` and records the outcome; one that is
    /// not processing is returned unchanged.
    pub async fn validate_challenge(&self, authz_id: &str) -> Result<AuthzRecord> {
        let stored = self.ports.store.get(&super::orders::authz_key(authz_id), "AUTHZ").await?.ok_or_else(|| super::problem::not_found("authorization"))?;
        let authz: AuthzRecord = super::records::decode(&stored)?;
        if authz.challenge.status != ChallengeStatus::Processing {
            return Ok(authz);
        }
        let account = self.find_account(&authz.account_id).await?.ok_or_else(|| Error::internal(format!("authorization {authz_id} of a missing account")))?;
        let expected = key_authorization(&authz.challenge.token, &account.thumbprint);
        let port = self.settings.http01_port;
        let outcome = match self.http01.fetch(&authz.identifier.value, port, &authz.challenge.token).await {
            Ok(body) => check_body(&body, &expected),
            Err(failure) => Err(failure),
        };
        let mut done = authz;
        let now = crate::clock::now();
        match outcome {
            Ok(()) => {
                done.challenge.status = ChallengeStatus::Valid;
                done.challenge.validated = Some(now);
                done.status = AuthzStatus::Valid;
            }
            Err(failure) => {
                let (kind, detail) = match failure {
                    Http01Failure::Connection(detail) => (ProblemType::Connection, detail),
                    Http01Failure::Response(detail) => (ProblemType::IncorrectResponse, detail),
                };
                tracing::info!(authz_id, domain = %done.identifier.value, %detail, "http-01 validation failed");
                done.challenge.status = ChallengeStatus::Invalid;
                done.challenge.error = Some(kind.document(&format!("{}: {detail}", done.identifier.value)));
                done.status = AuthzStatus::Invalid;
            }
        }
        self.ports.store.put(self.authz_item(&done, Some(&stored))?, Condition::Version(stored.version)).await?;
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_must_be_the_key_authorization_with_at_most_trailing_whitespace() {
        let expected = key_authorization("tok", "thumb");
        assert_eq!(expected, "tok.thumb");
        assert!(check_body(b"tok.thumb\r\n", &expected).is_ok());
        assert!(matches!(check_body(b" tok.thumb", &expected), Err(Http01Failure::Response(_))));
        assert!(matches!(check_body(b"tok.other", &expected), Err(Http01Failure::Response(_))));
        assert!(matches!(check_body(&[0xff, 0xfe], &expected), Err(Http01Failure::Response(_))));
    }
}
