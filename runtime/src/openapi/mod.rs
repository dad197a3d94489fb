//! The host side of the `feishu-request` import: handlers call the Feishu/Lark OpenAPI as the
//! app, and the host makes that safe and idempotent.
//!
//! - [`path`]: what a guest's path may look like, and the URL it is sent as: parsed once with
//!   the parser the HTTP client uses and refused unless it parses to itself (no dot segment in
//!   any spelling, no encoded `/`, `\` or `.`, …). The full rules and their order are in
//!   `docs/openapi.md`.
//! - [`grant`]: which methods and paths a handler may call (manifest key `openapi`, a list of
//!   `"METHOD /open-apis/…"` or bare prefixes meaning every method; denied by default).
//! - [`call`]: one call checked in order (method, path, grant) into the only thing the client
//!   sends, a [`CheckedCall`](call::CheckedCall).
//! - [`idempotency`]: the `uuid` the host puts into send and reply requests, derived from
//!   (app id, handler, event dedupe id, index of the call in the run), so a re-run of the same
//!   (event, handler) — after a crash, a timeout or a `retry` — sends nothing twice within
//!   Feishu's 1-hour uuid window.
//! - [`token`]: the app's tenant_access_token, fetched with app_id/app_secret and cached until
//!   `expire − 10 min`; refreshed once when Feishu says it is invalid.
//! - [`client`]: one HTTP request with the token, a timeout and a response-size cap; its
//!   failures are [`OpenApiError`](error::OpenApiError)s.
//! - [`upload`]: the multipart form of the `feishu-upload` import, checked before it is sent.
//! - [`stream`]: streamed card content, coalesced and paced per card, the last text always sent.
//!
//! The app secret and the token never reach the guest, logs or error messages: the guest gets
//! the response body (or an error naming the method, path and Feishu's code), nothing else.

pub mod bot_info;
pub mod call;
pub mod client;
pub mod error;
pub mod grant;
pub mod idempotency;
pub mod pacing;
pub mod path;
pub mod stats;
pub mod stream;
pub mod token;
pub mod upload;

#[cfg(test)]
mod pacing_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upload_tests;

pub use client::FeishuClient;
#[cfg(any(test, feature = "internals"))]
pub use grant::Method;
pub use grant::OpenApiGrant;
pub use stats::CallOutcome;

use crate::secret::Secret;

/// One handler's OpenAPI access as the manifest states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApiSettings {
    /// The app the calls are made as (`[feishu]`).
    pub app: OpenApiApp,
    /// The methods and paths granted (`openapi`).
    pub grant: OpenApiGrant,
}

/// The app whose identity OpenAPI calls use: `[feishu]` of the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenApiApp {
    /// `app_id`.
    pub app_id: String,
    /// `app_secret` (never printed).
    pub app_secret: Secret,
    /// Base URL of the OpenAPI, e.g. `https://open.feishu.cn` or the emulator's URL.
    pub domain: String,
    /// Feishu's per-app limits on sends, which the host paces under
    /// (`app_sends_per_second`, `app_sends_per_minute`).
    pub send_limits: pacing::AppSendLimits,
}

/// What a handler may call, for `aviary check` and `aviary invoke`: its grant's
/// [`OpenApiGrant::summary`], or that every call is denied.
pub fn grant_summary(settings: Option<&OpenApiSettings>) -> String {
    match settings {
        Some(s) if !s.grant.is_empty() => s.grant.summary(),
        _ => "none (every feishu-request is denied)".to_string(),
    }
}
