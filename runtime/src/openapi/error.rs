//! Why an OpenAPI request returned no body: the typed errors of [`super::FeishuClient`] and of
//! its token cache. Each `Display` is one line naming the method and path (or the app, for the
//! token) and Feishu's code when there is one, never the token or the app secret; the handler
//! gets exactly that line (`feishu-request`'s error is a message for the guest), and the source
//! of a transport failure stays reachable through [`std::error::Error::source`].

use std::time::Duration;

use crate::limits::openapi::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, RATE_LIMITED_CODE};

/// One OpenAPI request that returned no body. `what` is the checked call (`METHOD /path`).
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    /// The HTTP client could not be made.
    #[error("cannot create the OpenAPI HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The call was checked against another domain than the client's app.
    #[error("{what}: checked for the domain `{domain}`, not this app's")]
    WrongDomain {
        /// The call.
        what: String,
        /// The domain it was checked for.
        domain: String,
    },
    /// The request body is larger than [`MAX_REQUEST_BYTES`].
    #[error("{what}: the body is {len} bytes, more than {MAX_REQUEST_BYTES}")]
    BodyTooLarge {
        /// The call.
        what: String,
        /// The body's size.
        len: usize,
    },
    /// The app's tenant_access_token could not be had.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The host's pacing (per receiver, per app, per card) has no slot before the deadline.
    #[error(
        "{what}: rate limited: {limit}; the next slot is {wait:?} away, past the handler's \
         deadline (answer `retry` to try again later)"
    )]
    Paced {
        /// The call.
        what: String,
        /// How long until the next slot.
        wait: Duration,
        /// The limit that holds it.
        limit: super::pacing::Limit,
    },
    /// Feishu answered 429 and retrying does not fit (or did not help).
    #[error(
        "{what}: rate limited by Feishu (HTTP 429, code {RATE_LIMITED_CODE}, reset in \
         {reset:?}); {} (answer `retry` to try again later): {answer}",
        retry_outcome(*.fits)
    )]
    RateLimited {
        /// The call.
        what: String,
        /// When Feishu's window resets.
        reset: Duration,
        /// Whether waiting for the reset fitted the deadline (then the retries ran out).
        fits: bool,
        /// The start of Feishu's answer.
        answer: String,
    },
    /// The request could not be sent, or the answer not received.
    #[error("{what}: {source}")]
    Send {
        /// The call.
        what: String,
        /// The HTTP client's error (without the URL).
        #[source]
        source: reqwest::Error,
    },
    /// The answer could not be read.
    #[error("{what}: {source}")]
    Read {
        /// The call.
        what: String,
        /// Why.
        #[source]
        source: ReadError,
    },
    /// Feishu refused a fresh token too.
    #[error("{what}: the token was refused twice (code {code})")]
    TokenRefusedTwice {
        /// The call.
        what: String,
        /// Feishu's code.
        code: i64,
    },
    /// Feishu answered with an error.
    #[error(
        "{what}: HTTP {status}{}: {quote}",
        code_part(*.code)
    )]
    Answer {
        /// The call.
        what: String,
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// Feishu's `code`, when the answer is JSON with one.
        code: Option<i64>,
        /// The start of the answer.
        quote: String,
    },
    /// No answer within the request's timeout.
    #[error("{what}: no answer within {timeout:?}")]
    Timeout {
        /// The call.
        what: String,
        /// The timeout.
        timeout: Duration,
    },
}

/// An answer that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// It is larger than [`MAX_RESPONSE_BYTES`].
    #[error("the answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    /// The connection failed while reading it.
    #[error("reading the answer: {0}")]
    Body(#[source] reqwest::Error),
    /// It is not UTF-8.
    #[error("the answer is not UTF-8")]
    NotUtf8,
}

/// Why the app's tenant_access_token could not be had. `app_id` names the app.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token request could not be sent, or its answer not received.
    #[error("cannot get a tenant_access_token for app `{app_id}`: {source}")]
    Send {
        /// The app.
        app_id: String,
        /// The HTTP client's error (without the URL).
        #[source]
        source: reqwest::Error,
    },
    /// The answer could not be read.
    #[error("cannot get a tenant_access_token for app `{app_id}`: {source}")]
    Read {
        /// The app.
        app_id: String,
        /// Why.
        #[source]
        source: ReadError,
    },
    /// The answer is not JSON.
    #[error("cannot get a tenant_access_token for app `{app_id}`: HTTP {status}, the answer is not JSON")]
    NotJson {
        /// The app.
        app_id: String,
        /// The HTTP status.
        status: reqwest::StatusCode,
    },
    /// Feishu gave no token.
    #[error(
        "cannot get a tenant_access_token for app `{app_id}`: HTTP {status}, code {code}: {msg}"
    )]
    Refused {
        /// The app.
        app_id: String,
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// Feishu's `code` (-1 when absent).
        code: i64,
        /// Feishu's `msg`.
        msg: String,
    },
}

/// Why a 429 was not retried (again).
fn retry_outcome(fits: bool) -> &'static str {
    if fits {
        "still limited after retrying"
    } else {
        "waiting would pass the handler's deadline"
    }
}

/// `, code N` when the answer had a code.
fn code_part(code: Option<i64>) -> String {
    code.map(|c| format!(", code {c}")).unwrap_or_default()
}
