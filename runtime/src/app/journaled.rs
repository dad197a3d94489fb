//! The run journal's two recorders in the composition root ([`crate::journal`]): around the
//! sink the connection hands events to ([`JournaledSink`]: each delivery and its ack) and
//! around every loaded handler ([`JournaledInvoke`]: each run, on the queue's workers and the
//! synchronous path alike). The queue records the rest (persisted, retries, dead letters).

use std::sync::Arc;

use crate::dispatch::{EventSink, HandleFuture, HandlerResult, InboundEvent};
use crate::handler::{GuestEvent, Invoke, InvokeFuture};
use crate::journal::{Journal, RunLimits};

/// Records every delivery (received) and what it was answered (the ack's code, or no ack).
pub(crate) struct JournaledSink {
    pub inner: Arc<dyn EventSink>,
    pub journal: Arc<Journal>,
}

impl EventSink for JournaledSink {
    fn handle(&self, event: InboundEvent) -> HandleFuture {
        let m = &event.meta;
        self.journal.received(
            &m.event_id,
            &m.event_type,
            &event.trace_id,
            &event.frame_message_id,
        );
        let (event_id, event_type) = (m.event_id.clone(), m.event_type.clone());
        // Called now, not in the future below: the inner sink relies on arrival order.
        let handling = self.inner.handle(event);
        let journal = self.journal.clone();
        Box::pin(async move {
            let result = handling.await;
            let (code, detail) = match &result {
                HandlerResult::Done => (Some(200), None),
                HandlerResult::Respond(answer) => (
                    Some(200),
                    Some(String::from_utf8_lossy(answer).into_owned()),
                ),
                HandlerResult::Failed(why) => (Some(500), Some(why.clone())),
                HandlerResult::NoHandler => (
                    Some(500),
                    Some(format!("no handler subscribes to {event_type}")),
                ),
                HandlerResult::NotAcked(why) => (None, Some(why.clone())),
            };
            journal.acked(&event_id, code, detail.as_deref());
            result
        })
    }
}

/// A handler whose runs are recorded, with its limits.
pub(crate) struct JournaledInvoke {
    pub inner: Arc<dyn Invoke>,
    pub journal: Arc<Journal>,
    pub limits: RunLimits,
}

impl Invoke for JournaledInvoke {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn ready(&self) -> Option<crate::handler::ReadyFuture> {
        self.inner.ready()
    }

    fn instances(&self) -> Option<(u64, u64)> {
        self.inner.instances()
    }

    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a> {
        Box::pin(async move {
            let invocation = self.inner.invoke(event).await;
            self.journal
                .run(event, self.inner.name(), self.limits, &invocation);
            invocation
        })
    }
}

/// `invoke`, its runs recorded in `journal` (as it is without one).
pub(crate) fn wrap(
    journal: Option<&Arc<Journal>>,
    p: &super::handlers::Planned,
    invoke: Arc<dyn Invoke>,
) -> Arc<dyn Invoke> {
    match journal {
        Some(journal) => Arc::new(JournaledInvoke {
            inner: invoke,
            journal: journal.clone(),
            limits: limits_of(p),
        }),
        None => invoke,
    }
}

/// The limits a planned handler's runs are read against.
pub(crate) fn limits_of(p: &super::handlers::Planned) -> RunLimits {
    use super::handlers::Run;
    match &p.run {
        Run::Native { timeout, .. } => RunLimits {
            timeout_ms: timeout.as_millis() as u64,
            fuel: None,
            memory_bytes: None,
        },
        Run::Wasm { settings, .. } => RunLimits {
            timeout_ms: settings.limits.timeout().as_millis() as u64,
            fuel: settings.limits.fuel(),
            memory_bytes: Some(settings.limits.memory_bytes()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::{Invocation, Outcome, ReadyFuture};
    use crate::protocol::envelope::EventKind;

    /// A handler still compiling: not ready; its runs are done.
    struct Compiling;

    impl Invoke for Compiling {
        fn name(&self) -> &str {
            "compiling"
        }
        fn ready(&self) -> Option<ReadyFuture> {
            Some(Box::pin(async {}))
        }
        fn instances(&self) -> Option<(u64, u64)> {
            Some((3, 4))
        }
        fn invoke<'a>(&'a self, _: &'a GuestEvent) -> InvokeFuture<'a> {
            Box::pin(async {
                Invocation::outside_sandbox(Ok(Outcome::Done), std::time::Duration::ZERO)
            })
        }
    }

    #[tokio::test]
    async fn the_wrapper_forwards_readiness_and_records_runs() {
        let journal = Arc::new(Journal::new());
        let wrapped = JournaledInvoke {
            inner: Arc::new(Compiling),
            journal: journal.clone(),
            limits: RunLimits::default(),
        };
        // The queue parks jobs of a handler that is not ready: the journal must not hide it.
        assert!(wrapped.ready().is_some());
        assert_eq!(wrapped.instances(), Some((3, 4)));
        let event = GuestEvent {
            dedupe_id: "d".into(),
            event_id: "ev".into(),
            event_type: "t".into(),
            kind: EventKind::Event,
            app_id: "cli_x".into(),
            tenant_key: "k".into(),
            create_time: "0".into(),
            attempt: 1,
            envelope: "{}".into(),
        };
        wrapped.invoke(&event).await;
        let snap = journal.since(0);
        assert_eq!(snap.events.len(), 1);
        assert_eq!(snap.events[0].event_id, "ev");
    }
}
