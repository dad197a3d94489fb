//! The app side of the dev console: `aviary dev` attaches the app it runs
//! ([`crate::Emulator::set_console_app`]), and the page reaches it under `/_console/api/app/`
//! — its status, its run journal, its dead letters and their replay. The emulator only
//! forwards: what the paths mean is the attached app's business (the runtime's `aviary dev`
//! documents them), so this crate knows nothing of the runtime. Without an app attached
//! (`aviary emulator`), these requests are answered 503.

use futures_util::future::BoxFuture;

/// A request of the page to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path after `/_console/api/app/`, e.g. `runs`.
    pub path: String,
    /// The query string, without `?`.
    pub query: Option<String>,
    /// The body (JSON for a `POST`).
    pub body: Vec<u8>,
}

/// The app's answer: an HTTP status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct AppAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: serde_json::Value,
}

impl AppAnswer {
    /// 200 with `body`.
    pub fn ok(body: serde_json::Value) -> AppAnswer {
        AppAnswer { status: 200, body }
    }

    /// `status` with `{"error": message}`.
    pub fn error(status: u16, message: impl Into<String>) -> AppAnswer {
        AppAnswer {
            status,
            body: serde_json::json!({ "error": message.into() }),
        }
    }
}

/// What the console forwards `/_console/api/app/*` to.
pub trait ConsoleApp: Send + Sync + 'static {
    /// Answers one request of the page.
    fn request(&self, request: AppRequest) -> BoxFuture<'static, AppAnswer>;
}
