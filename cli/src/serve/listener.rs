//! The accept loop: HTTP/1.1 connections with a header read timeout, at most
//! `max_connections` of them at once, every request head checked before hyper parses it
//! ([`head_check`](super::head_check)), optionally over TLS ([`tls`](super::tls)), and a
//! graceful shutdown that lets requests in flight finish.

use super::guard::Guard;
use super::head_check::{CheckedIo, Refusals, MAX_HEADER_FIELDS};
use super::limits::Limits;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use trustplane_core::http::ClientCertificate;
use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Serves `router` on `listener` until `shutdown` completes, then waits for the connections'
/// requests in flight to be answered. With `tls`, every connection starts with a TLS
/// handshake, bounded by the header timeout.
pub async fn serve(listener: TcpListener, router: Router, limits: Limits, max_body_bytes: usize, tls: Option<Arc<ServerConfig>>, shutdown: impl Future<Output = ()>) {
    let guard = Guard::new(router, max_body_bytes, limits.body_timeout());
    let mut builder = http1::Builder::new();
    // Heads over the checked limits never reach hyper, so its own (empty-bodied) refusals stay unused.
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout()).max_headers(MAX_HEADER_FIELDS);
    let permits = Arc::new(Semaphore::new(usize::try_from(limits.max_connections).unwrap_or(usize::MAX)));
    let graceful = GracefulShutdown::new();
    let acceptor = tls.map(TlsAcceptor::from);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer, permit) = tokio::select! {
            accepted = next_connection(&listener, &permits) => accepted,
            () = &mut shutdown => break,
        };
        let connection = Connection { guard: guard.clone(), builder: builder.clone(), watcher: graceful.watcher(), peer, client_certificate: ClientCertificate::default() };
        let (acceptor, handshake_timeout) = (acceptor.clone(), limits.header_timeout());
        tokio::spawn(async move {
            match acceptor {
                None => connection.serve(stream).await,
                Some(acceptor) => match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => {
                        let presented = tls.get_ref().1.peer_certificates().and_then(|chain| chain.first()).map(|der| der.to_vec());
                        connection.with_client_certificate(presented).serve(tls).await
                    }
                    Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// One accepted connection's HTTP/1.1 service.
struct Connection {
    guard: Guard,
    builder: http1::Builder,
    watcher: Watcher,
    peer: SocketAddr,
    client_certificate: ClientCertificate,
}

impl Connection {
    /// The connection's verified TLS client certificate, handed to every request on it.
    fn with_client_certificate(self, der: Option<Vec<u8>>) -> Self {
        Connection { client_certificate: ClientCertificate(der), ..self }
    }

    async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, stream: S) {
        let Connection { guard, builder, watcher, peer, client_certificate } = self;
        let refusals = Refusals::default();
        let io = CheckedIo::new(stream, refusals.clone());
        let service = hyper::service::service_fn(move |req| {
            let refused = refusals.claim(&req);
            let guard = guard.clone();
            let client_certificate = client_certificate.clone();
            async move {
                match refused {
                    Some(refusal) => Ok(refusal.response()),
                    None => guard.handle(req, peer, client_certificate).await,
                }
            }
        });
        if let Err(e) = watcher.watch(builder.serve_connection(TokioIo::new(io), service)).await {
            tracing::debug!(error = %e, %peer, "connection ended with an error");
        }
    }
}

/// Waits for a free connection slot, then for a connection: until a slot frees up, new
/// connections wait in the kernel's listen backlog.
async fn next_connection(listener: &TcpListener, permits: &Arc<Semaphore>) -> (TcpStream, SocketAddr, OwnedSemaphorePermit) {
    let permit = match permits.clone().acquire_owned().await {
        Ok(permit) => permit,
        Err(_) => std::future::pending().await,
    };
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => return (stream, peer, permit),
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused) => {}
            Err(e) => {
                tracing::error!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
