//! Aviary: a runtime for Feishu/Lark bots. It holds the official long connection and hands every
//! event to handlers.
//!
//! - [`protocol`]: the wire protocol as pure functions (the crate `aviary-protocol`), shared by
//!   the client and the emulator (the crate `aviary-emulator`).
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
//! - [`kv`]: key-value state of handlers, committed with the event's outcome.
//! - [`limits`]: every limit and timeout, with its reason.
//! - [`secret`]: a string that never prints itself (app secret, encrypt key).

pub mod app;
pub mod build;
pub mod cli;
pub mod connection;
pub mod dispatch;
pub mod guest_abi;
pub mod guest_build;
pub mod handler;
pub mod kv;
pub mod limits;
pub mod manifest;
pub mod openapi;
pub mod outbound;
pub mod process;
pub mod queue;
pub mod sandbox;
pub mod scaffold;
pub mod secret;

/// The long-connection protocol (the crate `aviary-protocol`), at its historical path.
pub use aviary_protocol as protocol;
