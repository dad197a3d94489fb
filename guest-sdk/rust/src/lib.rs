//! # aviary-guest: write Aviary handlers in Rust
//!
//! Aviary runs each bot handler as a WebAssembly component (world `aviary:handler/handler@0.1.0`,
//! `wit/handler.wit` in the Aviary repository). This crate wraps the generated bindings:
//!
//! * [`Handler`] + [`export_handler!`]: export a handler in a few lines; the macro also installs a
//!   panic hook that sends the panic message to the host log at error level.
//! * [`Event`]: the routing fields plus typed access to the JSON envelope ([`Event::body`],
//!   [`Event::parse`], [`Event::typed`]) and the raw JSON ([`Event::raw`], [`Event::json`]).
//! * [`events`]: lenient serde models of common Feishu events.
//! * [`Outcome`]: `done`, `respond`, `retry`, `reject`, and card-callback helpers ([`card`]).
//! * [`trace!`], [`debug!`], [`info!`], [`warn!`], [`error!`] and [`config::get`].
//! * [`stream`]: a card message whose text grows as the handler produces it, paced by the host.
//! * [`feishu`]: call the Feishu OpenAPI as the app (`reply_text`, `send_text`, `request`),
//!   with the token and idempotency keys added by the host; granted in the manifest.
//! * [`http`]: outbound HTTP to the hosts the manifest allows (`allowed_outbound_hosts`):
//!   `http::get(url)`, `http::Request::post(url).json(&v)?.send()?`.
//! * [`kv`]: key-value state whose writes commit with the event's outcome (exactly once);
//!   granted in the manifest.
//!
//! ```no_run
//! use aviary_guest::prelude::*;
//!
//! struct Bot;
//!
//! impl Handler for Bot {
//!     fn handle(event: Event) -> Outcome {
//!         match event.typed() {
//!             Ok(TypedEvent::MessageReceive(m)) => {
//!                 info!("{}: {}", m.message.chat_id, m.text().unwrap_or_default());
//!                 Outcome::done()
//!             }
//!             Ok(_) => Outcome::done(),
//!             Err(e) => Outcome::from(e),
//!         }
//!     }
//! }
//!
//! aviary_guest::export_handler!(Bot);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm` in
//! `target/wasm32-wasip2/release/` is already a component. On other targets (host `cargo test`)
//! the host imports are replaced by a shim, see [`testing`].

// Lets `::aviary_guest::…` paths (used by code that wit-bindgen generates and by our macros)
// resolve inside this crate too.
extern crate self as aviary_guest;

pub mod card;
pub mod config;
mod de;
mod event;
pub mod events;
pub mod feishu;
mod host;
pub mod http;
pub mod kv;
mod kv_host;
mod log;
mod outcome;
pub mod stream;

pub use card::{CardResponse, CardUpdate, PreviewInline, Toast, ToastKind, UrlPreviewResponse};
pub use event::{Envelope, Error, Event, EventKind, Header, LegacyEnvelope};
pub use events::{EventBody, TypedEvent};
#[doc(hidden)]
pub use log::__log_fmt;
pub use log::{log, Level};
pub use outcome::Outcome;

#[cfg(not(target_arch = "wasm32"))]
pub use host::testing;

/// A handler: one function from an [`Event`] to an [`Outcome`].
///
/// Export it with [`export_handler!`]. By default the runtime creates a fresh instance for
/// every event, so nothing survives between calls; with `reuse = N` in the manifest an instance
/// serves up to N events and globals (statics, `OnceLock`s, thread-locals) may persist.
pub trait Handler {
    /// Handles one event. A panic aborts the instance: the runtime logs the panic message and
    /// treats it as a failure of this delivery.
    fn handle(event: Event) -> Outcome;
}

/// Everything a handler usually needs: `use aviary_guest::prelude::*;`.
pub mod prelude {
    pub use crate::card::{CardResponse, CardUpdate, Toast, ToastKind, UrlPreviewResponse};
    pub use crate::config;
    pub use crate::events::{self, EventBody, TypedEvent};
    pub use crate::feishu;
    pub use crate::http;
    pub use crate::kv;
    pub use crate::{debug, error, info, trace, warn};
    pub use crate::{Envelope, Event, EventKind, Handler, Level, Outcome};
}

/// Exports a [`Handler`] as the component's `handle` function.
///
/// Use it once, at the root of a `cdylib` crate built for `wasm32-wasip2`. Before the first
/// event it installs a panic hook that reports the panic message and location to the host log at
/// [`Level::Error`] (the standard hook's output is lost on wasip2). On non-wasm targets it only
/// type-checks the handler, so `cargo test` of a handler crate works on the host.
///
/// The dependency must be named `aviary_guest` (no renaming in `Cargo.toml`).
#[macro_export]
macro_rules! export_handler {
    ($handler:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __AviaryGuest;
            impl $crate::__private::bindings::Guest for __AviaryGuest {
                fn handle(
                    event: $crate::__private::bindings::Event,
                ) -> $crate::__private::bindings::Outcome {
                    $crate::__private::run::<$handler>(event)
                }
            }
            $crate::__private::bindings::export!(
                __AviaryGuest with_types_in $crate::__private::bindings
            );
        };
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn($crate::Event) -> $crate::Outcome = <$handler as $crate::Handler>::handle;
    };
}

/// Not public API: used by [`export_handler!`].
#[doc(hidden)]
pub mod __private {
    #[cfg(target_arch = "wasm32")]
    pub use crate::host::{bindings, run};
    #[cfg(target_arch = "wasm32")]
    pub use wit_bindgen;
}
