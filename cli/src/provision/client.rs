//! The one HTTP exchange `provision` makes: a JSON POST under a deadline, over hyper and
//! rustls with aws-lc-rs (the project's only crypto provider) and this machine's root store.

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// How long the whole exchange (DNS, connect, TLS, request, response body) may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The largest response body read; a provision reply is a few kilobytes.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Where the provision endpoint lives under a server's base URL.
const PROVISION_PATH: &str = "/api/v1/provision";

/// A server's answer: its status and body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

/// The provision endpoint under `server` (`https://pki.example.com`, optionally with a path
/// prefix such as an API Gateway stage): an `http` or `https` URL with a host, no
/// credentials, query or fragment.
pub fn endpoint(server: &str) -> anyhow::Result<Uri> {
    let invalid = |why: &str| anyhow!("invalid --server URL {server:?}: {why}");
    let base = server.trim().trim_end_matches('/');
    let expected = "expected http://host[:port] or https://host[:port]";
    let lower = base.to_ascii_lowercase();
    if !lower.starts_with("http://") && !lower.starts_with("https://") {
        return Err(invalid(expected));
    }
    if base.contains(['?', '#']) {
        return Err(invalid("a query or fragment is not allowed"));
    }
    let uri: Uri = format!("{base}{PROVISION_PATH}").parse().map_err(|e| invalid(&format!("{e}")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(invalid(expected));
    }
    match uri.authority() {
        None => Err(invalid("no host")),
        Some(a) if a.host().is_empty() => Err(invalid("no host")),
        Some(a) if a.as_str().contains('@') => Err(invalid("credentials in the URL are not supported")),
        Some(_) => Ok(uri),
    }
}

/// POSTs `json` to `uri` and reads the reply. Any failure to get an answer (DNS, refused
/// connection, TLS, timeout) reads "could not reach <uri>: <cause>".
pub async fn post_json(uri: &Uri, json: Vec<u8>) -> anyhow::Result<Reply> {
    let request = Request::post(uri.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json")
        .header(USER_AGENT, concat!("trustplane/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(Bytes::from(json)))?;
    let exchange = async {
        match uri.scheme_str() {
            Some("https") => send(https_connector()?, request).await,
            _ => send(HttpConnector::new(), request).await,
        }
    };
    match tokio::time::timeout(TIMEOUT, exchange).await {
        Ok(reply) => reply,
        Err(_) => bail!("could not reach {uri}: no response within {} s", TIMEOUT.as_secs()),
    }
}

/// rustls (aws-lc-rs) trusting this machine's root certificates. Plain `http` URLs use a
/// bare `HttpConnector` instead, so they also work where no CA bundle is installed.
fn https_connector() -> anyhow::Result<HttpsConnector<HttpConnector>> {
    let builder = HttpsConnectorBuilder::new()
        .with_native_roots()
        .context("loading this machine's trusted root certificates for https")?;
    Ok(builder.https_only().enable_http1().build())
}

async fn send<C>(connector: C, request: Request<Full<Bytes>>) -> anyhow::Result<Reply>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let uri = request.uri().clone();
    let client = Client::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(connector);
    let response = client.request(request).await.map_err(|e| anyhow!("could not reach {uri}: {}", causes(&e)))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| anyhow!("reading the reply from {uri}: {e}"))?
        .to_bytes();
    Ok(Reply { status, body })
}

/// The error's causes joined with ": ", leaving out a wrapper's own generic text (hyper's
/// "client error (Connect)") when it has a more specific source.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = Vec::new();
    let mut next = if error.source().is_some() { error.source() } else { Some(error) };
    while let Some(e) = next {
        let text = e.to_string();
        if !chain.last().is_some_and(|prev: &String| prev.contains(&text)) {
            chain.push(text);
        }
        next = e.source();
    }
    chain.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_the_provision_path_under_the_server_url() {
        assert_eq!(endpoint("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080/api/v1/provision");
        assert_eq!(endpoint("https://pki.example.com/prod/").unwrap(), "https://pki.example.com/prod/api/v1/provision");
        assert_eq!(endpoint("HTTP://Example.com:8443").unwrap(), "http://example.com:8443/api/v1/provision");
    }

    #[test]
    fn a_malformed_server_url_is_refused_with_the_url_in_the_message() {
        for bad in ["pki.example.com", "localhost:8080", "ftp://pki.example.com", "http://", "http://a b", "https://u:p@host", "http://h/?x=1", ""] {
            let e = endpoint(bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid --server URL"), "{bad}: {e}");
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }
}
