//! The admin server: the operator surface of a running process on one HTTP listener
//! (`[admin] listen`, default `127.0.0.1:9464`). Read-only endpoints — `GET /metrics`,
//! `/healthz`, `/readyz`, `/status` — need no credentials; `POST /control/{reconnect,drain,
//! resume}` needs `Authorization: Bearer` with `[admin] token` when one is set, and a
//! non-loopback address must have one. Every control action is logged with the peer address.
//!
//! This module owns the settings ([`AdminSettings`]) and the HTTP side; what is reported and
//! done comes from an [`Operator`], which the composition root ([`crate::app`]) implements over
//! the running apps. Reference: `docs/operations.md`.

mod server;
mod settings;

#[cfg(any(test, feature = "internals"))]
pub use server::AdminServer;
pub use server::{serve, Check, ControlAction, ControlFailure, Operator, Readiness};
pub use settings::AdminSettings;
