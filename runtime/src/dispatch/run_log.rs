//! One debug line per finished handler run, under the target `aviary::runs`, from the
//! synchronous dispatcher and the queue alike: handler, event id, trace id, attempt, outcome
//! (`done`, `respond`, `retry`, `reject`, or `failed:<kind>`), wall time, fuel and peak memory.
//! Off by default; `RUST_LOG=info,aviary::runs=debug` turns it on (the demo counts these lines
//! per handler).

use crate::handler::{Invocation, Outcome};

/// The outcome's name in the line: `done`, `respond`, `retry`, `reject` or `failed:<kind>`.
pub fn outcome_name(invocation: &Invocation) -> String {
    match &invocation.result {
        Ok(Outcome::Done) => "done".into(),
        Ok(Outcome::Respond(_)) => "respond".into(),
        Ok(Outcome::Retry(_)) => "retry".into(),
        Ok(Outcome::Reject(_)) => "reject".into(),
        Err(f) => format!("failed:{}", f.kind()),
    }
}

/// Logs one finished run.
pub fn finished(handler: &str, event_id: &str, trace_id: &str, attempt: u32, inv: &Invocation) {
    tracing::debug!(
        target: "aviary::runs",
        handler,
        event_id,
        trace_id,
        attempt,
        outcome = %outcome_name(inv),
        wall_ms = inv.wall.as_millis() as u64,
        fuel = inv.fuel_used,
        peak_memory_bytes = inv.peak_memory_bytes,
        "handler run"
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::handler::Failure;

    fn inv(result: Result<Outcome, Failure>) -> Invocation {
        Invocation::outside_sandbox(result, Duration::ZERO)
    }

    #[test]
    fn outcome_names_are_the_ones_the_demo_counts() {
        assert_eq!(outcome_name(&inv(Ok(Outcome::Done))), "done");
        assert_eq!(
            outcome_name(&inv(Ok(Outcome::Respond("{}".into())))),
            "respond"
        );
        assert_eq!(outcome_name(&inv(Ok(Outcome::Retry("x".into())))), "retry");
        assert_eq!(
            outcome_name(&inv(Ok(Outcome::Reject("x".into())))),
            "reject"
        );
        let timeout = Failure::Timeout {
            limit: Duration::from_millis(5),
        };
        assert_eq!(outcome_name(&inv(Err(timeout))), "failed:timeout");
    }
}
