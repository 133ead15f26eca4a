//! A request body that fails once its deadline passes, and records that it did so the request
//! can be answered with 408 whatever its handler made of the failure.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// Set once a [`DeadlineBody`] has failed for lack of time.
#[derive(Clone, Debug, Default)]
pub struct Expired(Arc<AtomicBool>);

impl Expired {
    /// Whether the body's deadline passed before it was complete.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The error a [`DeadlineBody`] yields when its deadline passes.
#[derive(Debug)]
pub struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimeout {}

/// `inner`, which must be complete within `timeout` of the first attempt to read it: the clock
/// runs from when the server starts reading, so time the server spends first is not the client's.
pub struct DeadlineBody<B> {
    inner: B,
    timeout: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
    expired: Expired,
}

impl<B> DeadlineBody<B> {
    /// Wraps `inner`; `expired` is set if the deadline passes first.
    pub fn new(inner: B, timeout: Duration, expired: Expired) -> Self {
        DeadlineBody { inner, timeout, deadline: None, expired }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let timeout = this.timeout;
        let deadline = this.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending if deadline.as_mut().poll(cx).is_ready() => {
                this.expired.set();
                Poll::Ready(Some(Err(BodyTimeout.into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
