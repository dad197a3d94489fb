//! The long connection (§0–§8 of the protocol spec): endpoint discovery, one session per socket,
//! and the reconnecting supervisor.
//!
//! - [`run`] is the entry point: it owns reconnecting and returns only on shutdown
//!   (`Ok(())`) or a [`FatalError`].
//! - [`ConnectionOptions`] says what to connect as, [`ConnectionSettings`] how (its pins
//!   override the server's `ClientConfig`; the manifest's `[connection]` builds it).
//! - [`ConnectionStats`] exposes counters, the [`ConnectionState`] and the effective config.
//!
//! Inside: `discovery` (the POST), `dial` (the upgrade), `session` (reader loop, pinger,
//! liveness), `writer` (the single socket writer), `inbound` (frame classification and
//! reassembly), `handler` (one event → one ack), `policy` (attempt counting, jitter),
//! `config` (pins over the server's config), `supervisor` (the loop tying them together).

mod config;
mod control;
mod dial;
mod discovery;
mod error;
mod handler;
mod inbound;
mod options;
mod policy;
mod session;
mod settings;
mod stats;
mod supervisor;
mod writer;

#[cfg(test)]
mod tests;

#[cfg(any(test, feature = "internals"))]
pub use control::ControlReceiver;
pub use control::{control, ConnectionControl, ControlError, Reconnected, Resumed};
pub use error::{ConnectError, FatalError, InvalidOptions};
pub use options::ConnectionOptions;
pub use settings::{ConnectionSettings, SettingError};
#[cfg(any(test, feature = "internals"))]
pub use stats::StatsSnapshot;
pub use stats::{ConnectionEvent, ConnectionState, ConnectionStats, Disconnect, DisconnectKind};
#[cfg(any(test, feature = "internals"))]
pub use supervisor::run;
pub use supervisor::run_with_control;
