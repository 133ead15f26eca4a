//! `GET /puppet-ca/v1/certificate_revocation_list/ca` revalidation: agents refresh their CRLs
//! with `If-Modified-Since` (RFC 9110 §13.1.3) and keep theirs on 304.

mod support;

use axum::body::Body;
use http::{header, Request, StatusCode};
use support::Backend;
use tower::ServiceExt;
use trustplane_core::on_both_backends;

on_both_backends!(the_crl_chain_carries_last_modified_and_answers_304_until_it_changes);

const PATH: &str = "/puppet-ca/v1/certificate_revocation_list/ca";

async fn get(b: &Backend, if_modified_since: Option<&str>) -> (StatusCode, Option<String>, String) {
    let mut request = Request::get(PATH);
    if let Some(since) = if_modified_since {
        request = request.header(header::IF_MODIFIED_SINCE, since);
    }
    let response = b.app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let stamp = response.headers().get(header::LAST_MODIFIED).map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, stamp, String::from_utf8_lossy(&body).into_owned())
}

async fn the_crl_chain_carries_last_modified_and_answers_304_until_it_changes(b: Backend) {
    let (status, stamp, body) = get(&b, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.matches("BEGIN X509 CRL").count(), 2, "the issuing CA's CRL and the root's");
    let stamp = stamp.expect("a Last-Modified header");
    let modified = httpdate::parse_http_date(&stamp).unwrap();
    let (status, again, body) = get(&b, Some(&stamp)).await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_MODIFIED, ""), "unchanged since the agent's copy");
    assert_eq!(again.as_deref(), Some(stamp.as_str()));
    let later = httpdate::fmt_http_date(modified + std::time::Duration::from_secs(3600));
    assert_eq!(get(&b, Some(&later)).await.0, StatusCode::NOT_MODIFIED);
    let older = httpdate::fmt_http_date(modified - std::time::Duration::from_secs(1));
    let (status, _, body) = get(&b, Some(&older)).await;
    assert_eq!(status, StatusCode::OK, "the agent's copy is older");
    assert!(body.contains("BEGIN X509 CRL"));
    assert_eq!(get(&b, Some("yesterday-ish")).await.0, StatusCode::OK, "an unreadable date is ignored");
}
