//! The Feishu long-connection protocol as pure functions and types: no sockets, no clocks
//! (time is always passed in), no logging. The runtime's session and the emulator both use
//! this module, so every frame is encoded and decoded in exactly one place.
//!
//! The specification is `docs/protocol.md`; section numbers in the
//! doc comments below (§n) refer to it.

pub mod ack;
pub mod client_config;
pub mod control;
pub mod endpoint;
pub mod envelope;
pub mod fragment;
pub mod frame;
pub mod handshake;
pub mod headers;
pub mod reassembly;

pub use ack::{build_ack, AckBody};
pub use client_config::{ClientConfig, ClientConfigUpdate};
pub use frame::{decode_frame, encode_frame, DecodeError, Frame, Header};
pub use headers::{FrameType, MessageType};
