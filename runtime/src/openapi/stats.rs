//! Counters of one app's OpenAPI client ([`super::FeishuClient::stats`]): calls by outcome and
//! the waits rate limits caused. Read by `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

/// How a call ended (the `outcome` label of `aviary_openapi_calls_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// A 2xx answer with code 0.
    Ok,
    /// Refused or failed (HTTP error, Feishu code, transport, size).
    Error,
    /// Still rate limited after the retries that fit the deadline.
    RateLimited,
    /// No answer within the handler's deadline.
    Timeout,
}

impl CallOutcome {
    /// Every outcome, in label order.
    pub const ALL: [CallOutcome; 4] = [
        CallOutcome::Ok,
        CallOutcome::Error,
        CallOutcome::RateLimited,
        CallOutcome::Timeout,
    ];

    /// `ok`, `error`, `rate_limited`, `timeout`.
    pub fn name(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::Error => "error",
            CallOutcome::RateLimited => "rate_limited",
            CallOutcome::Timeout => "timeout",
        }
    }
}

/// Live counters; cheap to update from any task.
#[derive(Debug, Default)]
pub struct OpenApiStats {
    outcomes: [AtomicU64; CallOutcome::ALL.len()],
    pacer_waits: AtomicU64,
    server_waits: AtomicU64,
}

impl OpenApiStats {
    pub(crate) fn call(&self, outcome: CallOutcome) {
        self.outcomes[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn pacer_waited(&self, times: u32) {
        self.pacer_waits
            .fetch_add(u64::from(times), Ordering::Relaxed);
    }

    pub(crate) fn server_waited(&self) {
        self.server_waits.fetch_add(1, Ordering::Relaxed);
    }

    /// `(outcome, calls)` for every outcome.
    pub fn calls(&self) -> Vec<(CallOutcome, u64)> {
        CallOutcome::ALL
            .iter()
            .map(|o| (*o, self.outcomes[*o as usize].load(Ordering::Relaxed)))
            .collect()
    }

    /// Waits before a send because of the host's own pacing (Feishu's per-chat limit).
    pub fn pacer_waits(&self) -> u64 {
        self.pacer_waits.load(Ordering::Relaxed)
    }

    /// Waits after Feishu answered "too many requests" (429 / 99991400).
    pub fn server_waits(&self) -> u64 {
        self.server_waits.load(Ordering::Relaxed)
    }
}
