//! A JSON body extractor whose rejections are domain errors, so every contract renders them
//! in its own format (400 malformed, 413 too large, 415 wrong content type).

use crate::error::Error;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// `Json<T>`: requires `Content-Type: application/json` (or `+json`), parses strictly.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

fn is_json(req: &Request) -> bool {
    let Some(ct) = req.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(Error::UnsupportedMediaType("expected Content-Type: application/json".into()));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge
            } else {
                Error::validation("could not read the request body")
            }
        })?;
        serde_json::from_slice(&bytes).map(Json).map_err(|e| Error::validation(format!("invalid JSON body: {e}")))
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
