//! Aviary: a runtime for Feishu/Lark bots. It holds the official long connection and hands every
//! event to handlers.
//!
//! **Embedding** (the public surface, re-exported here): [`Runtime::builder`] from a manifest or
//! [`Settings`], [`Handler::wasm`] and [`Handler::native`] ([`NativeHandler`], not sandboxed),
//! connection callbacks, and the [`RuntimeHandle`] that [`RuntimeBuilder::start`] returns
//! (status, connection state, reconnect, drain, resume, stop):
//!
//! ```no_run
//! use aviary::{Event, Handler, HandlerError, NativeHandler, Outcome, Runtime};
//!
//! struct Hello;
//!
//! #[aviary::async_trait]
//! impl NativeHandler for Hello {
//!     async fn handle(&self, event: &Event) -> Result<Outcome, HandlerError> {
//!         println!("got {}", event.event_type);
//!         Ok(Outcome::Done)
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let runtime = Runtime::builder()
//!         .manifest("aviary.toml")
//!         .handler(Handler::native("hello", Hello).events(["im.message.receive_v1"]))
//!         .start()
//!         .await?;
//!     tokio::signal::ctrl_c().await?;
//!     runtime.stop().await?;
//!     Ok(())
//! }
//! ```
//!
//! Everything else — the connection, dispatch, the queue, the sandbox, the manifest parser,
//! the CLI — is private to the crate and may change in any release. The one exception is the
//! cargo feature `internals` (off by default, undocumented, never enabled by the shipped
//! binary): it makes those modules public for the repository's own test crates, which need to
//! drive one subsystem at a time. It carries no stability promise; see `docs/embedding.md`.

#![warn(missing_docs, unnameable_types)]

// The runtime's internal modules (each documented inside): private in a normal build, public
// (and hidden from the docs) with the `internals` feature the test crates enable.

/// Declares each module private, or public and hidden from the docs with `internals`.
macro_rules! internal_modules {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "internals"))]
        mod $name;
    )*};
}

internal_modules!(
    app,
    admin,
    build,
    cli,
    connection,
    dispatch,
    guest_abi,
    guest_build,
    handler,
    journal,
    kv,
    limits,
    manifest,
    metrics,
    openapi,
    outbound,
    process,
    queue,
    sandbox,
    scaffold,
    secret,
);

/// The long-connection protocol (the crate `aviary-protocol`): frames, envelopes, endpoint
/// discovery, as pure functions.
pub use aviary_protocol as protocol;

pub use app::{
    Handler, HandlerError, NativeHandler, ReloadError, ReloadReport, ReloadStatus, Runtime,
    RuntimeBuilder, RuntimeHandle, Settings, StartError, Status,
};
pub use async_trait::async_trait;
pub use connection::{
    ConnectionEvent, ConnectionState, ControlError, Disconnect, DisconnectKind, FatalError,
    Reconnected, Resumed,
};
pub use handler::{GuestEvent as Event, Outcome};
pub use protocol::envelope::EventKind;

/// The types [`Settings`] is made of, each owned by its subsystem (with its defaults and the
/// checks a manifest goes through), and the capability grants of [`Handler::wasm`].
pub mod settings {
    pub use crate::admin::AdminSettings;
    pub use crate::app::wasm::Compiling;
    pub use crate::connection::{ConnectionOptions, ConnectionSettings};
    pub use crate::dispatch::{DispatchMode, DispatchSettings};
    pub use crate::openapi::pacing::AppSendLimits;
    pub use crate::queue::redis::RedisUrl;
    pub use crate::queue::retry::RetryPolicy;
    pub use crate::queue::{AckMode, QueueBackend, QueueSettings};
    pub use crate::secret::Secret;
}

/// Errors of the embedding API: why a runtime did not start or stopped, why a control call
/// failed, and why a setting was refused by its subsystem's check.
pub mod error {
    pub use crate::app::{ReloadError, StartError};
    pub use crate::connection::SettingError as ConnectionSettingError;
    pub use crate::connection::{ConnectError, ControlError, FatalError, InvalidOptions};
    pub use crate::limits::OutOfRange;
    pub use crate::manifest::ManifestError;
    pub use crate::queue::redis::TlsCaError;
    pub use crate::queue::retry::BackoffBelowFirst;
    pub use crate::queue::QueueSettingError;
}

/// What [`RuntimeHandle::debug_runs`] returns: the run journal's timelines (on with
/// [`RuntimeBuilder::debug_runs`]; served as JSON by `GET /debug/runs`).
pub mod runs {
    pub use crate::journal::{
        CallStep, EventTrace, LogLine, RunLimits, RunStep, Snapshot, Step, What,
    };
}

/// What [`RuntimeHandle::status`] reports (also served as JSON by `GET /status`).
pub mod status {
    pub use crate::app::{
        ClientConfigStatus, ConnectionStatus, HandlerStatus, LastDisconnect, LastReload,
        LimitsStatus, QueueStatus, ReloadStatus, Status,
    };
}

/// The `aviary` binary's entry point (the command line). Not part of the API: it exists so the
/// binary in this package can reach the private modules.
#[doc(hidden)]
pub fn __cli_main() -> std::process::ExitCode {
    cli::main()
}
