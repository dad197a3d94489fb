//! Handlers written in Rust and compiled into the embedding program ([`NativeHandler`]).
//!
//! **Not sandboxed.** A native handler runs in the process with everything the process has:
//! no fuel, memory or capability limit applies, a blocking call blocks a runtime thread, and
//! an infinite loop is never stopped. Only its `timeout` is enforced, and only at an `.await`
//! (the future is dropped when it passes). Use a Wasm handler for code you do not fully trust.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;

use crate::handler::{Failure, GuestEvent, Invocation, Invoke, InvokeFuture, Outcome};

/// The error a native handler may return: anything that converts into a boxed error (so `?`
/// works on most errors, `anyhow::Error` included). The call counts as failed (kind
/// `host_error`) and, with the durable queue, is retried per the handler's retry policy.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A handler written in Rust, registered with [`crate::Handler::native`]. Called concurrently
/// (up to the handler's `max_concurrency`), once per event it subscribes to.
///
/// ```
/// use aviary::{Event, NativeHandler, Outcome, HandlerError};
///
/// struct Greeter;
///
/// #[aviary::async_trait]
/// impl NativeHandler for Greeter {
///     async fn handle(&self, event: &Event) -> Result<Outcome, HandlerError> {
///         let envelope: serde_json::Value = serde_json::from_str(&event.envelope)?;
///         let text = envelope["event"]["message"]["content"].as_str().unwrap_or("");
///         println!("{} said {text}", event.event_id);
///         Ok(Outcome::Done)
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait NativeHandler: Send + Sync + 'static {
    /// Handles one event. `Ok(Outcome::Done)` (or `Respond` for a card callback's answer)
    /// settles it; `Retry` and `Err` run it again later (queue), `Reject` dead-letters it.
    async fn handle(&self, event: &GuestEvent) -> Result<Outcome, HandlerError>;
}

/// A [`NativeHandler`] as dispatch and the queue see it: an [`Invoke`] under a timeout, with
/// a panic turned into a failure.
pub(crate) struct NativeInvoke {
    pub name: String,
    pub handler: Arc<dyn NativeHandler>,
    pub timeout: Duration,
}

impl Invoke for NativeInvoke {
    fn name(&self) -> &str {
        &self.name
    }

    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let call = AssertUnwindSafe(self.handler.handle(event)).catch_unwind();
            let result = match tokio::time::timeout(self.timeout, call).await {
                Err(_) => Err(Failure::Timeout {
                    limit: self.timeout,
                }),
                Ok(Err(panic)) => Err(Failure::Panic {
                    message: panic_message(panic.as_ref()),
                }),
                Ok(Ok(Err(e))) => Err(Failure::Host {
                    message: format!("native handler failed: {e}"),
                }),
                Ok(Ok(Ok(outcome))) => Ok(outcome),
            };
            Invocation::outside_sandbox(result, started.elapsed())
        })
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> Option<String> {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scripted;

    #[async_trait::async_trait]
    impl NativeHandler for Scripted {
        async fn handle(&self, event: &GuestEvent) -> Result<Outcome, HandlerError> {
            match event.event_type.as_str() {
                "done" => Ok(Outcome::Done),
                "err" => Err("no database".into()),
                "panic" => panic!("bad state"),
                _ => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok(Outcome::Done)
                }
            }
        }
    }

    fn event(event_type: &str) -> GuestEvent {
        GuestEvent {
            dedupe_id: "d".into(),
            event_id: "e".into(),
            event_type: event_type.into(),
            kind: crate::protocol::envelope::EventKind::Event,
            app_id: "a".into(),
            tenant_key: "t".into(),
            create_time: "0".into(),
            attempt: 1,
            envelope: "{}".into(),
        }
    }

    #[tokio::test]
    async fn outcomes_errors_panics_and_timeouts_become_invocations() {
        let invoke = NativeInvoke {
            name: "n".into(),
            handler: Arc::new(Scripted),
            timeout: Duration::from_millis(50),
        };
        assert_eq!(
            invoke.invoke(&event("done")).await.result,
            Ok(Outcome::Done)
        );
        let err = invoke.invoke(&event("err")).await.result.unwrap_err();
        assert_eq!(err.kind(), "host_error");
        assert!(err.to_string().contains("no database"), "{err}");
        let panic = invoke.invoke(&event("panic")).await.result.unwrap_err();
        assert_eq!(
            panic,
            Failure::Panic {
                message: Some("bad state".into())
            }
        );
        let slow = invoke.invoke(&event("slow")).await;
        assert_eq!(slow.result.unwrap_err().kind(), "timeout");
        assert!(slow.wall < Duration::from_secs(1));
    }
}
