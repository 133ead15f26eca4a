//! Outbound webhooks over HTTP(S): hyper + rustls (aws-lc-rs) with this machine's roots.

use crate::error::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Delivers one signed notification; a non-2xx answer or no answer is `Unavailable`
/// (the queue retries).
#[async_trait]
pub trait WebhookSink: Send + Sync {
    async fn deliver(&self, body: Vec<u8>, headers: Vec<(&'static str, String)>) -> Result<()>;
}

/// POSTs to one configured URL through one client, built once (its TLS roots read once).
pub struct HttpWebhook {
    url: http::Uri,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpWebhook {
    /// A sink for `url` (`http://` or `https://`, the latter verified against this machine's roots).
    pub fn new(url: &str) -> Result<Self> {
        let url: http::Uri = url.parse().map_err(|e| Error::validation(format!("webhook URL: {e}")))?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new().with_native_roots().map_err(Error::internal)?.https_or_http().enable_http1().build();
        Ok(HttpWebhook { url, client: Client::builder(TokioExecutor::new()).build(connector) })
    }
}

#[async_trait]
impl WebhookSink for HttpWebhook {
    async fn deliver(&self, body: Vec<u8>, headers: Vec<(&'static str, String)>) -> Result<()> {
        let mut request = http::Request::post(self.url.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, concat!("trustplane/", env!("CARGO_PKG_VERSION")));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(Error::internal)?;
        let exchange = async { self.client.request(request).await.map(|r| r.status()).map_err(|e| Error::Unavailable(format!("webhook: {e}"))) };
        let status = tokio::time::timeout(TIMEOUT, exchange).await.map_err(|_| Error::Unavailable("webhook: timed out".into()))??;
        if status.is_success() {
            Ok(())
        } else {
            Err(Error::Unavailable(format!("webhook answered {status}")))
        }
    }
}
