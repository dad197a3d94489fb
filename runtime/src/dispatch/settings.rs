//! `[dispatch]`'s settings and the dispatch part of each `[[handler]]` ([`HandlerRoute`]): the
//! types dispatch runs with and the bounds of each field. The manifest parser only reads the
//! TOML and calls these checks, attaching the key and line.

use std::time::Duration;

use super::router::EventPattern;
use crate::limits::{self, dispatch as lim, OutOfRange};

/// How several handlers of one event run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum DispatchMode {
    /// All at once (the default).
    #[default]
    Parallel,
    /// One after another, in manifest order.
    Sequential,
}

impl DispatchMode {
    /// The mode named `name` (`parallel` or `sequential`).
    pub fn from_name(name: &str) -> Result<DispatchMode, String> {
        match name {
            "parallel" => Ok(DispatchMode::Parallel),
            "sequential" => Ok(DispatchMode::Sequential),
            other => Err(format!(
                "`{other}` is neither \"parallel\" nor \"sequential\""
            )),
        }
    }

    /// The name the manifest uses for this mode.
    pub fn name(self) -> &'static str {
        match self {
            DispatchMode::Parallel => "parallel",
            DispatchMode::Sequential => "sequential",
        }
    }
}

/// `[dispatch]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct DispatchSettings {
    /// How several handlers of one event run.
    pub mode: DispatchMode,
    /// Handle events of one chat in arrival order (different chats still in parallel).
    pub per_chat_ordering: bool,
    /// Events whose handlers run at once; more wait (and eventually pause the connection).
    pub max_in_flight: usize,
    /// How long a card callback waits for an answer before acking without one.
    pub callback_deadline: Duration,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        DispatchSettings {
            mode: DispatchMode::Parallel,
            per_chat_ordering: false,
            max_in_flight: lim::MAX_IN_FLIGHT,
            callback_deadline: lim::CALLBACK_DEADLINE,
        }
    }
}

impl DispatchSettings {
    /// Checks `max_in_flight` (`1..=``lim::MAX_CONCURRENCY_BOUND`).
    pub fn check_max_in_flight(n: u64) -> Result<usize, OutOfRange> {
        limits::within(n, lim::MAX_CONCURRENCY_BOUND as u64).map(|n| n as usize)
    }

    /// Checks `callback_deadline_ms` (`1..=``lim::MAX_CALLBACK_DEADLINE`).
    pub fn check_callback_deadline_ms(ms: u64) -> Result<Duration, OutOfRange> {
        limits::within(ms, lim::MAX_CALLBACK_DEADLINE.as_millis() as u64).map(Duration::from_millis)
    }
}

/// The dispatch part of one `[[handler]]`: which events reach it and how many of its calls run
/// at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerRoute {
    /// The event types it subscribes to, in the order written.
    pub events: Vec<EventPattern>,
    /// Gets the event types no other handler subscribes to (at most one handler).
    pub default: bool,
    /// Calls of this handler at once (`1..=`[`lim::MAX_CONCURRENCY_BOUND`], see
    /// [`HandlerRoute::check_max_concurrency`]; 0 is run as 1).
    pub max_concurrency: usize,
}

impl HandlerRoute {
    /// A non-default route to `events` with the default concurrency.
    pub fn new(events: Vec<EventPattern>) -> HandlerRoute {
        HandlerRoute {
            events,
            default: false,
            max_concurrency: lim::HANDLER_MAX_CONCURRENCY,
        }
    }

    /// Checks a handler's `max_concurrency` (`1..=`[`lim::MAX_CONCURRENCY_BOUND`]).
    pub fn check_max_concurrency(n: u64) -> Result<usize, OutOfRange> {
        limits::within(n, lim::MAX_CONCURRENCY_BOUND as u64).map(|n| n as usize)
    }
}
