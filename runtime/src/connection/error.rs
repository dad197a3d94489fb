//! Why [`super::run`] stopped for good.

/// A reason to stop that reconnecting will not fix. `Display` is one line naming the code and
/// what to do; `aviary run` prints it as `error: …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
        last_error: String,
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
        reason: String,
    },
    /// The options are unusable (the manifest prevents this; only direct API users can hit it).
    #[error("invalid connection options: {0}")]
    InvalidOptions(String),
}
