//! The ACME `http-01` fetcher (RFC 8555 §8.3): `GET http://<name>:<port>/.well-known/acme-challenge/<token>`
//! with the name as `Host`, no redirects followed, at most 8 KiB read, 10 seconds in all.
//! Names under `localhost` resolve to the loopback addresses (RFC 6761 §6.3); others through
//! the system resolver, IPv4 first, each address tried until one answers.

use crate::services::acme::{Http01Client, Http01Failure};
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

const MAX_BODY: usize = 8 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Fetches over plain HTTP with one client, built once.
pub struct HttpFetcher {
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl HttpFetcher {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        HttpFetcher { client: Client::builder(TokioExecutor::new()).build(connector) }
    }
}

impl Default for HttpFetcher {
    fn default() -> Self {
        Self::new()
    }
}

/// The addresses `domain` resolves to, IPv4 first.
async fn resolve(domain: &str, port: u16) -> Result<Vec<SocketAddr>, Http01Failure> {
    let mut addrs: Vec<SocketAddr> = if domain == "localhost" || domain.ends_with(".localhost") {
        vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port), SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)]
    } else {
        tokio::net::lookup_host((domain, port)).await.map_err(|e| Http01Failure::Connection(format!("could not resolve the name: {e}")))?.collect()
    };
    addrs.sort_by_key(|a| a.is_ipv6());
    if addrs.is_empty() {
        return Err(Http01Failure::Connection("the name resolves to no address".into()));
    }
    Ok(addrs)
}

impl HttpFetcher {
    async fn fetch_from(&self, addr: SocketAddr, host: &str, token: &str) -> Result<Vec<u8>, Http01Failure> {
        let uri = format!("http://{addr}/.well-known/acme-challenge/{token}");
        let request = http::Request::get(uri)
            .header(http::header::HOST, host)
            .header(http::header::USER_AGENT, concat!("trustplane-acme/", env!("CARGO_PKG_VERSION")))
            .body(Empty::new())
            .map_err(|e| Http01Failure::Connection(e.to_string()))?;
        let response = self.client.request(request).await.map_err(|e| Http01Failure::Connection(format!("{addr}: {e}")))?;
        if response.status() != http::StatusCode::OK {
            return Err(Http01Failure::Response(format!("{addr} answered {}", response.status())));
        }
        let body = Limited::new(response.into_body(), MAX_BODY).collect().await.map_err(|_| Http01Failure::Response(format!("{addr}: the response is larger than {MAX_BODY} bytes or broken off")))?;
        Ok(body.to_bytes().to_vec())
    }
}

#[async_trait]
impl Http01Client for HttpFetcher {
    async fn fetch(&self, domain: &str, port: u16, token: &str) -> Result<Vec<u8>, Http01Failure> {
        let host = if port == 80 { domain.to_owned() } else { format!("{domain}:{port}") };
        let attempt = async {
            let mut last = Http01Failure::Connection("no address tried".into());
            for addr in resolve(domain, port).await? {
                match self.fetch_from(addr, &host, token).await {
                    Err(Http01Failure::Connection(why)) => last = Http01Failure::Connection(why),
                    other => return other,
                }
            }
            Err(last)
        };
        tokio::time::timeout(TIMEOUT, attempt).await.unwrap_or_else(|_| Err(Http01Failure::Connection("no answer within 10 seconds".into())))
    }
}
