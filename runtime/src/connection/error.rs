//! Why [`super::run`] stopped for good ([`FatalError`]), and why one connect attempt failed or
//! one connection was lost ([`ConnectError`], worth another attempt). The errors of the HTTP
//! client and the WebSocket are kept as sources; the messages quote them on one line.

use std::time::Duration;

use tokio_tungstenite::tungstenite::Error as WsError;

use super::discovery::chain;

/// A reason to stop that reconnecting will not fix. `Display` is one line naming the code and
/// what to do; `aviary run` prints it as `error: …`.
#[derive(Debug, thiserror::Error)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum FatalError {
    /// The endpoint API refused the app (§1.3: a code other than 0, 1 and 1000040343).
    #[error("endpoint error {code}: {message}")]
    Endpoint {
        /// The endpoint's `code`.
        code: i64,
        /// What it means and what to do.
        message: String,
    },
    /// The gateway refused the WebSocket upgrade for good (§2: 403, or 514 + 1000040350).
    #[error("handshake error {code}: {message}")]
    Handshake {
        /// `Handshake-Status` (403) or `Handshake-Autherrcode` (1000040350).
        code: i64,
        /// What it means and what to do.
        message: String,
    },
    /// Every allowed reconnect attempt failed (§8.3 `ReconnectCount`, or the manifest's
    /// `max_reconnect_attempts`).
    #[error(
        "could not reconnect after {attempts} attempt(s); last error: {last_error}; check the network \
         and the domain, or raise connection.max_reconnect_attempts (-1 = unlimited)"
    )]
    ReconnectExhausted {
        /// Attempts made in the last round.
        attempts: u64,
        /// Why the last attempt (or the connection) failed.
        #[source]
        last_error: ConnectError,
    },
    /// The connection ended and `auto_reconnect` is off.
    #[error(
        "the connection ended and auto_reconnect is off; set connection.auto_reconnect = true to reconnect automatically"
    )]
    Disconnected,
    /// The first connect failed with a retryable error and `auto_reconnect` is off.
    #[error(
        "could not connect: {reason}; auto_reconnect is off, so no retry (set connection.auto_reconnect = true to retry)"
    )]
    ConnectFailed {
        /// Why the attempt failed.
        #[source]
        reason: ConnectError,
    },
    /// The options are unusable (the manifest prevents this; only direct API users can hit it).
    #[error("invalid connection options: {0}")]
    InvalidOptions(#[source] InvalidOptions),
}

/// Credentials that cannot be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum InvalidOptions {
    /// `app_id` is empty or blank.
    #[error("app_id is empty")]
    EmptyAppId,
    /// `app_secret` is empty.
    #[error("app_secret is empty")]
    EmptyAppSecret,
}

/// Why a connect attempt (discovery, then the WebSocket handshake) failed or a live connection
/// was lost: worth another attempt after the reconnect interval. The WebSocket URL in these
/// messages has its query (one-time credentials) cut off.
#[derive(Debug, thiserror::Error)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum ConnectError {
    /// The endpoint request could not be encoded.
    #[error("cannot encode the endpoint request: {0}")]
    EncodeRequest(#[source] serde_json::Error),
    /// The endpoint request could not be sent, or its answer not received.
    #[error("endpoint request failed: {}", chain(.0))]
    EndpointRequest(#[source] reqwest::Error),
    /// The endpoint answer is larger than the limit.
    #[error("endpoint answer is larger than {0} bytes")]
    EndpointTooLarge(usize),
    /// The endpoint answer could not be read.
    #[error("endpoint answer could not be read: {}", chain(.0))]
    EndpointRead(#[source] reqwest::Error),
    /// The endpoint said to try again (§1.3), in the protocol's words.
    #[error("{0}")]
    EndpointRetry(String),
    /// The WebSocket handshake took longer than `connection_timeout`.
    #[error("WebSocket handshake with {url} timed out after {timeout:?}")]
    HandshakeTimeout {
        /// The URL, query cut off.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The gateway refused the upgrade, retryably (§2), in the protocol's words.
    #[error("{0}")]
    HandshakeRetry(String),
    /// The WebSocket could not be opened.
    #[error("WebSocket connect to {url} failed: {}", chain(.source))]
    Dial {
        /// The URL, query cut off.
        url: String,
        /// The WebSocket's error.
        #[source]
        source: WsError,
    },
    /// Reading the socket failed.
    #[error("read failed: {}", chain(.0))]
    Read(#[source] WsError),
    /// Writing the socket failed.
    #[error("write failed: {}", chain(.0))]
    Write(#[source] WsError),
    /// The close frame could not be written.
    #[error("close frame not sent: {}", chain(.0))]
    CloseNotSent(#[source] WsError),
    /// The writer task ended without an error of its own.
    #[error("writer stopped")]
    WriterStopped,
    /// The writer task panicked or was cancelled.
    #[error("writer task failed: {0}")]
    WriterTask(#[source] tokio::task::JoinError),
    /// The receive queue's semaphore was closed.
    #[error("receive queue closed")]
    ReceiveQueueClosed,
    /// The TCP connection ended without a close frame.
    #[error("the server closed the TCP connection without a close frame")]
    EndOfStream,
    /// The server sent a close frame (`code N reason`, or `no code`).
    #[error("the server closed the connection ({0})")]
    Closed(String),
    /// Nothing arrived for one ping interval plus the grace.
    #[error(
        "liveness timeout: nothing received for {:?} (ping interval {ping_interval:?} + grace {grace:?})",
        *.ping_interval + *.grace
    )]
    Silent {
        /// The ping interval in force.
        ping_interval: Duration,
        /// `liveness_grace`.
        grace: Duration,
    },
}
