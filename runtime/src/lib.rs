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
//! The modules below are the runtime's insides (the `aviary` binary and the tests use them);
//! they are not a stable API.
//!
//! - [`protocol`]: the wire protocol as pure functions (the crate `aviary-protocol`), shared by
//!   the client and the emulator (the crate `aviary-emulator`).
//! - [`admin`]: the admin server (metrics, health, status, control) over an [`admin::Operator`].
//! - [`connection`]: discovery, one session per socket, the reconnecting supervisor.
//! - [`dispatch`]: where complete events go ([`dispatch::EventSink`]).
//! - [`manifest`]: the TOML manifest, parsed once into typed settings.
//! - [`handler`]: the host-side vocabulary of handlers ([`handler::Invoke`]).
//! - [`cli`]: `aviary check`, `invoke`, `build`, `new`, `dlq`, `guest`, `emulator`.
//! - [`build`]: building handlers from their source (`[handler.build]`, `aviary build`).
//! - [`scaffold`]: `aviary new`, a handler project from an example.
//! - [`guest_abi`]: what host and guest builds agree on beyond WIT (arena traps, custom section).
//! - [`sandbox`]: runs handlers as WebAssembly components under limits.
//! - [`openapi`]: the host side of the `feishu-request` import (grants, token, uuid keys).
//! - [`outbound`]: the host side of the `http-send` import (allow-list, SSRF rule, limits).
//! - [`queue`]: the durable queue (persist, then ack; retries, dead letters).
//! - [`journal`]: the recent events' timelines (`aviary run --debug-runs`, `aviary dev`).
//! - [`kv`]: key-value state of handlers, committed with the event's outcome.
//! - [`limits`]: every limit and timeout, with its reason.
//! - [`secret`]: a string that never prints itself (app secret, encrypt key).

pub mod app;

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

pub mod admin;
pub mod build;
pub mod cli;
pub mod connection;
pub mod dispatch;
pub mod guest_abi;
pub mod guest_build;
pub mod handler;
pub mod journal;
pub mod kv;
pub mod limits;
pub mod manifest;
pub mod metrics;
pub mod openapi;
pub mod outbound;
pub mod process;
pub mod queue;
pub mod sandbox;
pub mod scaffold;
pub mod secret;

/// The long-connection protocol (the crate `aviary-protocol`), at its historical path.
pub use aviary_protocol as protocol;
