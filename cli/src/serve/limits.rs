//! The connection limits `serve` enforces itself; on AWS, API Gateway enforces its own in front of
//! the functions.

use clap::Args;
use std::time::Duration;

/// How long `serve` waits for a client, and how many clients it serves at once.
#[derive(Debug, Clone, Copy, Args)]
pub struct Limits {
    /// Seconds a client has to send a complete request header block (RFC 9112 §2.2), also the
    /// longest an idle keep-alive connection stays open; then the connection is closed without
    /// a response.
    #[arg(long, env = "TRUSTPLANE_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a whole request body, counted from when the server starts
    /// reading it; then 408 (RFC 9110 §15.5.9) and the connection is closed.
    #[arg(long, env = "TRUSTPLANE_BODY_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_secs: u64,
    /// Connections served at once; further ones wait, unanswered, in the kernel's listen backlog
    /// until a served one closes.
    #[arg(long, env = "TRUSTPLANE_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

impl Limits {
    /// The header read timeout.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs)
    }

    /// The body read timeout.
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }
}
