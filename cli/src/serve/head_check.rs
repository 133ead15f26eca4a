//! Every request head on a connection, read and checked before hyper parses it (RFC 9112 §2–§5),
//! so that what hyper would refuse with an empty body — bad bytes in the request target, a
//! target or header block over its limits, a malformed request line or header field, framing
//! it cannot use — or with no answer at all (the HTTP/2 preface), is instead refused in the error
//! format of the group that owns the path (README, "Input limits and timeouts").
//!
//! [`CheckedIo`] sits between the socket and hyper. It holds back each request head until it is
//! complete, checks it, and hands it on; it follows the body's framing (`Content-Length` or
//! chunked, as hyper decodes it) to find the next head, so every request of a keep-alive
//! connection is checked, not only the first. A head that fails is never shown to hyper: hyper
//! reads a stand-in request in its place, which carries this process's secret marker and
//! `connection: close`, and the connection's service answers it with the recorded [`Refusal`].
//! Answering through hyper keeps responses in order on a pipelined connection and the refusal
//! inside graceful shutdown. After a refusal the rest of the client's input is read and
//! discarded, and once the response is out the connection lingers a little (RFC 9112 §9.6), so
//! the client reads the answer instead of a reset.

use super::guard;
use axum::response::Response;
use bytes::{Buf, BytesMut};
use http::{Request, StatusCode};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// The largest request head (request line, header fields and the empty line after them): 431 above.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The longest request target: 414 above.
pub const MAX_TARGET_BYTES: usize = 8 * 1024;
/// The most header fields a request may have: 431 above (hyper's own limit, which it then never meets).
pub const MAX_HEADER_FIELDS: usize = 100;
/// How long a refused connection keeps reading (and discarding) after its answer is out.
const LINGER: Duration = Duration::from_secs(2);
/// How much a refused connection reads and discards, at most.
const LINGER_BYTES: usize = 1024 * 1024;
/// How much of a refused request's path is kept to find its group and echo.
const MAX_PATH_BYTES: usize = 1024;
/// The header that marks a stand-in request (its value is [`marker`]).
const MARKER_HEADER: &str = "x-trustplane-refused";

/// Why a request head was refused, and the path whose group answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: &'static str,
    /// The target's path, with every byte outside visible ASCII percent-encoded.
    pub path: String,
}

impl Refusal {
    fn bad_request(reason: &'static str) -> Self {
        Refusal { status: StatusCode::BAD_REQUEST, reason, path: String::new() }
    }

    /// The answer, in the format of the group owning the path; it closes the connection.
    pub fn response(&self) -> Response {
        guard::closing(&self.path, self.status, self.reason, None)
    }
}

/// What a connection's [`CheckedIo`] refused, for the connection's service to answer.
#[derive(Clone, Default)]
pub struct Refusals(Arc<Mutex<Option<Refusal>>>);

impl Refusals {
    /// The refusal `req` stands in for, if it is a stand-in; `None` for a client's request.
    pub fn claim<B>(&self, req: &Request<B>) -> Option<Refusal> {
        let value = req.headers().get(MARKER_HEADER)?;
        if value.as_bytes() != marker().as_bytes() {
            return None;
        }
        let recorded = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        Some(recorded.unwrap_or_else(|| Refusal::bad_request("malformed request")))
    }

    fn record(&self, refusal: Refusal) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(refusal);
    }
}

/// A random value per process: no client can send a request that passes for a stand-in.
fn marker() -> &'static str {
    static MARKER: OnceLock<String> = OnceLock::new();
    MARKER.get_or_init(|| uuid::Uuid::new_v4().simple().to_string())
}

/// The request hyper reads in place of a refused one.
fn stand_in(head_method: bool) -> Vec<u8> {
    let method = if head_method { "HEAD" } else { "GET" };
    format!("{method} / HTTP/1.1\r\nhost: refused.invalid\r\nconnection: close\r\n{MARKER_HEADER}: {}\r\n\r\n", marker()).into_bytes()
}

/// Where the reader is in the byte stream.
enum Phase {
    /// Reading a request head.
    Head(HeadScan),
    /// This many bytes of a `Content-Length` body are still to come.
    Length(u64),
    /// In a chunked body.
    Chunked(ChunkScan),
    /// Framing this reader could not follow (hyper will fail the body and close): pass bytes on.
    Unchecked,
    /// A head was refused and its stand-in handed on; what follows is discarded.
    Refused,
}

/// The client's socket as hyper sees it: request heads checked, refused ones replaced.
pub struct CheckedIo<S> {
    inner: S,
    phase: Phase,
    /// Read from the socket, not yet checked.
    input: BytesMut,
    /// Checked, not yet read by hyper.
    output: BytesMut,
    eof: bool,
    refusals: Refusals,
    discarded: usize,
    shut_down: bool,
    linger: Option<Pin<Box<Sleep>>>,
    lingered: bool,
}

impl<S> CheckedIo<S> {
    /// Wraps a new connection; its refusals are recorded in `refusals`.
    pub fn new(inner: S, refusals: Refusals) -> Self {
        CheckedIo {
            inner,
            phase: Phase::Head(HeadScan::default()),
            input: BytesMut::new(),
            output: BytesMut::new(),
            eof: false,
            refusals,
            discarded: 0,
            shut_down: false,
            linger: None,
            lingered: false,
        }
    }

    /// Moves what `input` holds to `output` as far as the checks allow.
    fn process(&mut self) {
        loop {
            match &mut self.phase {
                Phase::Head(scan) => match scan.scan(&self.input) {
                    Scan::Partial => return,
                    Scan::Complete { len, body } => {
                        self.output.extend_from_slice(&self.input.split_to(len));
                        self.phase = match body {
                            Framing::Length(0) => Phase::Head(HeadScan::default()),
                            Framing::Length(n) => Phase::Length(n),
                            Framing::Chunked => Phase::Chunked(ChunkScan::default()),
                        };
                    }
                    Scan::Refused(refusal, head_method) => {
                        tracing::debug!(status = refusal.status.as_u16(), reason = refusal.reason, "request head refused before routing");
                        self.refusals.record(refusal);
                        self.output.extend_from_slice(&stand_in(head_method));
                        self.discarded += self.input.len();
                        self.input.clear();
                        self.phase = Phase::Refused;
                        return;
                    }
                },
                Phase::Length(left) => {
                    if self.input.is_empty() {
                        return;
                    }
                    let take = usize::try_from(*left).unwrap_or(usize::MAX).min(self.input.len());
                    self.output.extend_from_slice(&self.input.split_to(take));
                    *left -= take as u64;
                    if *left == 0 {
                        self.phase = Phase::Head(HeadScan::default());
                    }
                }
                Phase::Chunked(scan) => {
                    if self.input.is_empty() {
                        return;
                    }
                    let (used, state) = scan.advance(&self.input);
                    self.output.extend_from_slice(&self.input.split_to(used));
                    match state {
                        Chunks::More => {}
                        Chunks::Done => self.phase = Phase::Head(HeadScan::default()),
                        Chunks::Invalid => self.phase = Phase::Unchecked,
                    }
                }
                Phase::Unchecked => {
                    let all = self.input.split();
                    self.output.extend_from_slice(&all);
                    return;
                }
                Phase::Refused => {
                    self.discarded += self.input.len();
                    self.input.clear();
                    return;
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> CheckedIo<S> {
    /// Reads and drops the client's input, up to [`LINGER_BYTES`]; ready once it ends.
    fn poll_discard(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut scratch = [0u8; 8192];
        while self.discarded < LINGER_BYTES {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => self.discarded += buf.filled().len(),
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CheckedIo<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.output.is_empty() {
                let n = this.output.len().min(buf.remaining());
                buf.put_slice(&this.output[..n]);
                this.output.advance(n);
                return Poll::Ready(Ok(()));
            }
            if matches!(this.phase, Phase::Refused) {
                // Never an end of input: without half-close support hyper would drop the answer.
                let _ = this.poll_discard(cx);
                return Poll::Pending;
            }
            if this.eof {
                // An unfinished head is dropped, as hyper drops one: no answer.
                return Poll::Ready(Ok(()));
            }
            let mut scratch = [0u8; 8192];
            let mut read = ReadBuf::new(&mut scratch);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                this.eof = true;
            } else {
                this.input.extend_from_slice(read.filled());
                this.process();
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for CheckedIo<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    /// Ends the write side; after a refusal, keeps reading until the client stops sending,
    /// for at most [`LINGER`], so closing does not reset the answer away.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.shut_down {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            this.shut_down = true;
        }
        if matches!(this.phase, Phase::Refused) && !this.lingered {
            let linger = this.linger.get_or_insert_with(|| Box::pin(tokio::time::sleep(LINGER)));
            if linger.as_mut().poll(cx).is_pending() && this.poll_discard(cx).is_pending() {
                return Poll::Pending;
            }
            this.lingered = true;
        }
        Poll::Ready(Ok(()))
    }
}

/// How a checked request's body is framed (RFC 9112 §6.3, as hyper applies it).
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
}

/// What a head scan found so far.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    Partial,
    Complete { len: usize, body: Framing },
    /// Refused; and whether the method was `HEAD` (the answer then has no body).
    Refused(Refusal, bool),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum At {
    /// Before the request line, where empty lines are skipped (RFC 9112 §2.2).
    #[default]
    Leading,
    LeadingLf,
    Method,
    Target,
    Version,
    VersionLf,
    FieldStart,
    Name,
    Value,
    ValueLf,
    EndLf,
}

/// An incremental check of one request head: each byte is looked at once, however the head
/// arrives.
#[derive(Default)]
struct HeadScan {
    pos: usize,
    at: At,
    method: (usize, usize),
    target_start: usize,
    target_end: Option<usize>,
    version_start: usize,
    version_end: usize,
    name: (usize, usize),
    value_start: usize,
    fields: usize,
    http_10: bool,
    content_length: Option<u64>,
    transfer_encoding: Option<bool>,
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 §5.5 `field-vchar` / SP / HTAB, obs-text included.
fn is_field_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

fn is_ows(b: &u8) -> bool {
    *b == b' ' || *b == b'\t'
}

fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = value {
        if !is_ows(first) {
            break;
        }
        value = rest;
    }
    while let [rest @ .., last] = value {
        if !is_ows(last) {
            break;
        }
        value = rest;
    }
    value
}

/// A `Content-Length` value as hyper reads it: digits only.
fn content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| if b.is_ascii_digit() { n.checked_mul(10)?.checked_add(u64::from(b - b'0')) } else { None })
}

/// The path of a (possibly partial or malformed) request target, for finding its group: the
/// authority of an absolute-form target and any query are dropped, bytes outside visible ASCII
/// are percent-encoded.
fn path_of(target: &[u8]) -> String {
    let mut path = target;
    if let Some(i) = path.windows(3).position(|w| w == b"://") {
        let scheme = &path[..i];
        if !scheme.is_empty() && scheme.iter().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b)) {
            let rest = &path[i + 3..];
            path = rest.iter().position(|&b| b == b'/').map_or(&[][..], |j| &rest[j..]);
        }
    }
    let end = path.iter().position(|&b| b == b'?' || b == b'#').unwrap_or(path.len()).min(MAX_PATH_BYTES);
    let mut out = String::with_capacity(end);
    for &b in &path[..end] {
        if (b'!'..=b'~').contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl HeadScan {
    fn scan(&mut self, buf: &[u8]) -> Scan {
        while self.pos < buf.len() {
            let at = self.pos;
            let b = buf[at];
            self.pos += 1;
            if let Some(outcome) = self.step(buf, at, b) {
                return match outcome {
                    Ok(body) => Scan::Complete { len: self.pos, body },
                    Err(refusal) => self.refused(buf, refusal),
                };
            }
            if self.pos >= MAX_HEAD_BYTES {
                let reason = "the request head is larger than 16384 bytes";
                return self.refused(buf, Refusal { status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, reason, path: String::new() });
            }
        }
        Scan::Partial
    }

    /// The refusal, with the path of the target as far as it was read.
    fn refused(&self, buf: &[u8], mut refusal: Refusal) -> Scan {
        let past_method = !matches!(self.at, At::Leading | At::LeadingLf | At::Method);
        if past_method {
            let rest = &buf[self.target_start.min(buf.len())..];
            let end = self.target_end.map_or_else(|| rest.iter().position(|b| b" \r\n".contains(b)).unwrap_or(rest.len()), |end| end - self.target_start);
            refusal.path = path_of(&rest[..end]);
        }
        let head_method = past_method && &buf[self.method.0..self.method.1] == b"HEAD";
        Scan::Refused(refusal, head_method)
    }

    /// Takes byte `b` at `at`: `Some` once the head is complete or refused.
    fn step(&mut self, buf: &[u8], at: usize, b: u8) -> Option<Result<Framing, Refusal>> {
        const REQUEST_LINE: &str = "malformed request line: expected a method token, a space, the request target, a space and the HTTP version";
        const BARE_CR: &str = "a bare CR in the request head (RFC 9112 §2.2)";
        let bad = |reason| Some(Err(Refusal::bad_request(reason)));
        match (self.at, b) {
            (At::Leading, b'\r') => self.at = At::LeadingLf,
            (At::Leading, b'\n') => {}
            (At::Leading, b) if is_tchar(b) => {
                self.method = (at, at + 1);
                self.at = At::Method;
            }
            (At::Leading, _) => return bad(REQUEST_LINE),
            (At::LeadingLf, b'\n') => self.at = At::Leading,
            (At::LeadingLf, _) => return bad(BARE_CR),
            (At::Method, b' ') => {
                self.method.1 = at;
                self.target_start = at + 1;
                self.at = At::Target;
            }
            (At::Method, b) if is_tchar(b) => {}
            (At::Method, _) => return bad(REQUEST_LINE),
            (At::Target, b' ') if at == self.target_start => return bad("malformed request line: the request target is empty"),
            (At::Target, b' ') => {
                self.target_end = Some(at);
                self.version_start = at + 1;
                self.at = At::Version;
            }
            (At::Target, b'\r' | b'\n') => return bad("malformed request line: no HTTP version after the request target (HTTP/0.9 is not served)"),
            (At::Target, b) if b < 0x20 || b == 0x7f => {
                return bad("the request target contains a control character; percent-encode it (RFC 3986 §2.1)");
            }
            (At::Target, b) if b >= 0x80 => return bad("the request target contains a raw non-ASCII byte; percent-encode it (RFC 3986 §2.1)"),
            (At::Target, _) if at + 1 - self.target_start > MAX_TARGET_BYTES => {
                let reason = "the request target is longer than 8192 bytes";
                return Some(Err(Refusal { status: StatusCode::URI_TOO_LONG, reason, path: String::new() }));
            }
            (At::Target, _) => {}
            (At::Version, b'\r') => {
                self.version_end = at;
                self.at = At::VersionLf;
            }
            (At::Version, b'\n') => {
                self.version_end = at;
                return self.request_line(buf).map(Err);
            }
            (At::Version, b' ') => return bad("malformed request line: whitespace in the request target must be percent-encoded (%20)"),
            (At::Version, _) if at - self.version_start >= 8 => return bad("malformed request line: not an HTTP version after the request target"),
            (At::Version, _) => {}
            (At::VersionLf, b'\n') => {
                return self.request_line(buf).map(Err);
            }
            (At::FieldStart, b'\r') => self.at = At::EndLf,
            (At::FieldStart, b'\n') | (At::EndLf, b'\n') => return Some(self.framing()),
            (At::FieldStart, b' ' | b'\t') => return bad("obsolete line folding in a header field (RFC 9112 §5.2)"),
            (At::FieldStart, b) if is_tchar(b) => {
                self.fields += 1;
                if self.fields > MAX_HEADER_FIELDS {
                    let reason = "more than 100 header fields";
                    return Some(Err(Refusal { status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, reason, path: String::new() }));
                }
                self.name = (at, at + 1);
                self.at = At::Name;
            }
            (At::Name, b':') => {
                self.name.1 = at;
                self.value_start = at + 1;
                self.at = At::Value;
            }
            (At::Name, b) if is_tchar(b) => {}
            (At::FieldStart | At::Name, _) => {
                return bad("malformed header field: the name must be a token followed by a colon, without whitespace (RFC 9112 §5)");
            }
            (At::Value, b'\r') => {
                self.at = At::ValueLf;
                return self.field(&buf[self.name.0..self.name.1], &buf[self.value_start..at]).map(Err);
            }
            (At::Value, b'\n') => {
                self.at = At::FieldStart;
                return self.field(&buf[self.name.0..self.name.1], &buf[self.value_start..at]).map(Err);
            }
            (At::Value, b) if is_field_byte(b) => {}
            (At::Value, _) => return bad("a header field value contains a control character (RFC 9110 §5.5)"),
            (At::ValueLf, b'\n') => self.at = At::FieldStart,
            (At::VersionLf | At::ValueLf | At::EndLf, _) => return bad(BARE_CR),
        }
        None
    }

    /// Checks a complete request line as hyper will parse it; the scan goes on to the fields.
    fn request_line(&mut self, buf: &[u8]) -> Option<Refusal> {
        self.at = At::FieldStart;
        let version = &buf[self.version_start..self.version_end];
        match version {
            b"HTTP/1.1" => {}
            b"HTTP/1.0" => self.http_10 = true,
            [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
                return Some(Refusal::bad_request("unsupported HTTP version: HTTP/1.1 and HTTP/1.0 are served"));
            }
            _ => return Some(Refusal::bad_request("malformed request line: not an HTTP version after the request target")),
        }
        let target = &buf[self.target_start..self.target_end.unwrap_or(self.target_start)];
        if http::Uri::try_from(target).is_err() {
            return Some(Refusal::bad_request("the request target is not a valid URI (RFC 9112 §3.2)"));
        }
        if http::Method::from_bytes(&buf[self.method.0..self.method.1]).is_err() {
            return Some(Refusal::bad_request("malformed request line: the method is not a token"));
        }
        None
    }

    /// Records the framing fields of a complete header field.
    fn field(&mut self, name: &[u8], value: &[u8]) -> Option<Refusal> {
        let value = trim_ows(value);
        if name.eq_ignore_ascii_case(b"content-length") {
            let Some(length) = content_length(value) else {
                return Some(Refusal::bad_request("invalid Content-Length: digits only (RFC 9110 §8.6)"));
            };
            if self.content_length.is_some_and(|seen| seen != length) {
                return Some(Refusal::bad_request("conflicting Content-Length header fields (RFC 9112 §6.3)"));
            }
            self.content_length = Some(length);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value.rsplit(|&b| b == b',').next().map(trim_ows).unwrap_or_default();
            self.transfer_encoding = Some(value.is_ascii() && last.eq_ignore_ascii_case(b"chunked"));
        }
        None
    }

    /// The body's framing once the head is complete (RFC 9112 §6.1, §6.3).
    fn framing(&self) -> Result<Framing, Refusal> {
        match (self.transfer_encoding, self.content_length) {
            (Some(_), _) if self.http_10 => Err(Refusal::bad_request("Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)")),
            (Some(true), _) => Ok(Framing::Chunked),
            (Some(false), _) => Err(Refusal::bad_request("a Transfer-Encoding must end with chunked (RFC 9112 §6.3)")),
            (None, Some(n)) if n > u64::MAX - 2 => {
                Err(Refusal { status: StatusCode::PAYLOAD_TOO_LARGE, reason: "request body too large", path: String::new() })
            }
            (None, n) => Ok(Framing::Length(n.unwrap_or(0))),
        }
    }
}

/// Where a chunked body scan is, state for state as hyper's decoder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ChunkAt {
    #[default]
    Start,
    Size,
    SizeLws,
    Extension,
    SizeLf,
    Body,
    BodyCr,
    BodyLf,
    EndCr,
    Trailer,
    TrailerLf,
    EndLf,
}

/// Follows a chunked body (RFC 9112 §7.1) to its end.
#[derive(Default)]
struct ChunkScan {
    at: ChunkAt,
    size: u64,
}

enum Chunks {
    More,
    Done,
    Invalid,
}

impl ChunkScan {
    /// Takes as much of `input` as belongs to the body: how much, and whether the body ended.
    fn advance(&mut self, input: &[u8]) -> (usize, Chunks) {
        let mut i = 0;
        while i < input.len() {
            if self.at == ChunkAt::Body {
                let take = usize::try_from(self.size).unwrap_or(usize::MAX).min(input.len() - i);
                i += take;
                self.size -= take as u64;
                if self.size == 0 {
                    self.at = ChunkAt::BodyCr;
                }
                continue;
            }
            let b = input[i];
            i += 1;
            let digit = char::from(b).to_digit(16).map(u64::from);
            self.at = match (self.at, b, digit) {
                (ChunkAt::Start, _, Some(d)) => {
                    self.size = d;
                    ChunkAt::Size
                }
                (ChunkAt::Size, _, Some(d)) => match self.size.checked_mul(16).and_then(|s| s.checked_add(d)) {
                    Some(size) => {
                        self.size = size;
                        ChunkAt::Size
                    }
                    None => return (i, Chunks::Invalid),
                },
                (ChunkAt::Size | ChunkAt::SizeLws, b' ' | b'\t', _) => ChunkAt::SizeLws,
                (ChunkAt::Size | ChunkAt::SizeLws, b';', _) => ChunkAt::Extension,
                (ChunkAt::Size | ChunkAt::SizeLws | ChunkAt::Extension, b'\r', _) => ChunkAt::SizeLf,
                (ChunkAt::Extension, b'\n', _) => return (i, Chunks::Invalid),
                (ChunkAt::Extension, _, _) => ChunkAt::Extension,
                (ChunkAt::SizeLf, b'\n', _) if self.size == 0 => ChunkAt::EndCr,
                (ChunkAt::SizeLf, b'\n', _) => ChunkAt::Body,
                (ChunkAt::BodyCr, b'\r', _) => ChunkAt::BodyLf,
                (ChunkAt::BodyLf, b'\n', _) => ChunkAt::Start,
                (ChunkAt::EndCr, b'\r', _) => ChunkAt::EndLf,
                (ChunkAt::Trailer, b'\r', _) => ChunkAt::TrailerLf,
                (ChunkAt::EndCr | ChunkAt::Trailer, _, _) => ChunkAt::Trailer,
                (ChunkAt::TrailerLf, b'\n', _) => ChunkAt::EndCr,
                (ChunkAt::EndLf, b'\n', _) => return (i, Chunks::Done),
                _ => return (i, Chunks::Invalid),
            };
        }
        (i, Chunks::More)
    }
}
