//! CRLs and CA certificates are for every relying party: the CRL download and the chain
//! answer without an API key, and the chain comes as a certs-only PKCS#7 under either of
//! its media types.

#[macro_use]
mod common;

use common::*;

async fn anonymous_get(env: &Env, path: &str, accept: Option<&str>) -> trustplane_core::testkit::Reply {
    env.request("GET", path, None, None, accept).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_crl_download_answers_without_an_api_key() {
    let env = Env::local().await;
    let root = env.root(("EC", 256)).await;
    env.run_jobs().await;
    let reply = anonymous_get(&env, &format!("/api/v1/issuers/{}/crl", id(&root)), None).await;
    assert_eq!((reply.status.as_u16(), reply.header("content-type")), (200, Some("application/pkix-crl")));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_authority_chain_answers_without_an_api_key() {
    let env = Env::local().await;
    let root = env.root(("EC", 256)).await;
    let reply = anonymous_get(&env, &format!("/api/v1/authorities/{}/chain", id(&root)), None).await;
    assert_eq!((reply.status.as_u16(), reply.header("content-type")), (200, Some("application/pem-certificate-chain")));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chain_is_a_p7b_when_x_pkcs7_certificates_is_accepted() {
    let env = Env::local().await;
    let root = env.root(("EC", 256)).await;
    let path = format!("/api/v1/authorities/{}/chain", id(&root));
    let legacy = anonymous_get(&env, &path, Some("application/x-pkcs7-certificates")).await;
    let standard = env.get_as(&path, "application/pkcs7-mime").await;
    assert_eq!((legacy.status.as_u16(), legacy.header("content-type")), (200, Some("application/x-pkcs7-certificates")));
    assert_eq!(legacy.body, standard.body, "both media types carry the same certs-only PKCS#7");
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_an_authority_still_needs_an_api_key() {
    let env = Env::local().await;
    let root = env.root(("EC", 256)).await;
    let reply = anonymous_get(&env, &format!("/api/v1/authorities/{}", id(&root)), None).await;
    assert_eq!(reply.status.as_u16(), 401);
}
