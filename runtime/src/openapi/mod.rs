//! The host side of the `feishu-request` import: handlers call the Feishu/Lark OpenAPI as the
//! app, and the host makes that safe and idempotent.
//!
//! - [`grant`]: which paths a handler may call (manifest key `openapi`, a path-prefix
//!   allow-list; denied by default) and what a valid path looks like.
//! - [`idempotency`]: the `uuid` the host puts into send and reply requests, derived from
//!   (app id, handler, event dedupe id, index of the call in the run), so a re-run of the same
//!   (event, handler) — after a crash, a timeout or a `retry` — sends nothing twice within
//!   Feishu's 1-hour uuid window.
//! - [`token`]: the app's tenant_access_token, fetched with app_id/app_secret and cached until
//!   `expire − 10 min`; refreshed once when Feishu says it is invalid.
//! - [`client`]: one HTTP request with the token, a timeout and a response-size cap.
//!
//! The app secret and the token never reach the guest, logs or error messages: the guest gets
//! the response body (or an error naming the method, path and Feishu's code), nothing else.

pub mod client;
pub mod grant;
pub mod idempotency;
pub mod token;

#[cfg(test)]
mod tests;

pub use client::FeishuClient;
pub use grant::OpenApiGrant;

use crate::secret::Secret;

/// One handler's OpenAPI access as the manifest states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApiSettings {
    /// The app the calls are made as (`[feishu]`).
    pub app: OpenApiApp,
    /// The paths granted (`openapi`).
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
}
