//! Aviary: a runtime for Feishu/Lark bots. It holds the official long connection, and hands every
//! event to handlers.
//!
//! - [`protocol`]: the wire protocol as pure functions, shared with the [`emulator`].
//! - [`limits`]: every limit and timeout, with its reason.

pub mod limits;
pub mod protocol;
