//! Fake handlers for dispatch tests: scripted `Invoke` implementations that record when they
//! ran, and event builders.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aviary::dispatch::InboundEvent;
use aviary::handler::{
    Failure, GuestEvent, GuestLog, Invocation, Invoke, InvokeFuture, LogLevel, LogStream, Outcome,
};
use aviary::protocol::envelope::parse_envelope;
use serde_json::{json, Value};

/// One call as recorded by a fake: which handler, which event, when it started and ended.
#[derive(Debug, Clone)]
pub struct Call {
    pub handler: String,
    pub event_id: String,
    pub started: Instant,
    pub ended: Instant,
}

/// Every call of every fake sharing it, in completion order.
#[derive(Debug, Default, Clone)]
pub struct Journal(Arc<Mutex<Vec<Call>>>);

impl Journal {
    pub fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().clone()
    }

    pub fn handlers_for(&self, event_id: &str) -> Vec<String> {
        let mut calls: Vec<Call> = self
            .calls()
            .into_iter()
            .filter(|c| c.event_id == event_id)
            .collect();
        calls.sort_by_key(|c| c.started);
        calls.into_iter().map(|c| c.handler).collect()
    }
}

/// What a fake does.
#[derive(Debug, Clone)]
pub enum Script {
    Return(Result<Outcome, Failure>),
    Panic,
}

/// A scripted handler.
pub struct Fake {
    pub name: String,
    pub delay: Duration,
    pub script: Script,
    pub journal: Journal,
    running: AtomicUsize,
    pub max_running: AtomicUsize,
    pub calls: AtomicUsize,
}

impl Fake {
    pub fn new(name: &str, journal: &Journal, delay_ms: u64, script: Script) -> Arc<Fake> {
        Arc::new(Fake {
            name: name.into(),
            delay: Duration::from_millis(delay_ms),
            script,
            journal: journal.clone(),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
        })
    }

    pub fn done(name: &str, journal: &Journal, delay_ms: u64) -> Arc<Fake> {
        Self::new(name, journal, delay_ms, Script::Return(Ok(Outcome::Done)))
    }

    pub fn responding(name: &str, journal: &Journal, delay_ms: u64, body: &str) -> Arc<Fake> {
        Self::new(
            name,
            journal,
            delay_ms,
            Script::Return(Ok(Outcome::Respond(body.into()))),
        )
    }

    pub fn failing(name: &str, journal: &Journal, delay_ms: u64) -> Arc<Fake> {
        Self::new(
            name,
            journal,
            delay_ms,
            Script::Return(Err(Failure::Trap {
                trap: "integer divide by zero".into(),
                backtrace: None,
            })),
        )
    }

    pub fn max_running(&self) -> usize {
        self.max_running.load(Ordering::SeqCst)
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Invoke for Fake {
    fn name(&self) -> &str {
        &self.name
    }

    fn invoke<'a>(&'a self, event: &'a GuestEvent) -> InvokeFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_running.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.journal.0.lock().unwrap().push(Call {
                handler: self.name.clone(),
                event_id: event.event_id.clone(),
                started,
                ended: Instant::now(),
            });
            assert_eq!(event.attempt, 1);
            let result = match &self.script {
                Script::Return(r) => r.clone(),
                Script::Panic => panic!("fake handler {} panics", self.name),
            };
            Invocation {
                result,
                fuel_used: None,
                kv: None,
                peak_memory_bytes: 0,
                wall: started.elapsed(),
                logs: vec![GuestLog {
                    level: LogLevel::Info,
                    message: format!("{} saw {}", self.name, event.event_id),
                    stream: LogStream::Log,
                }],
            }
        })
    }
}

/// A schema 2.0 envelope JSON.
pub fn envelope(event_type: &str, event_id: &str, event: Value) -> Value {
    json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id, "event_type": event_type, "create_time": "1608725989000",
            "token": "", "app_id": "cli_0123456789abcdef", "tenant_key": "tenant-1"
        },
        "event": event
    })
}

/// An inbound event of `event_type` (a message in `chat` when given).
pub fn inbound(event_type: &str, event_id: &str, chat: Option<&str>) -> InboundEvent {
    let body = match chat {
        Some(chat) => json!({"message": {"message_id": format!("om_{event_id}"), "chat_id": chat}}),
        None => json!({}),
    };
    let json = envelope(event_type, event_id, body).to_string();
    let env = parse_envelope(json.as_bytes(), None).unwrap();
    InboundEvent {
        meta: env.meta,
        json: env.json,
        trace_id: format!("trace-{event_id}"),
        frame_message_id: String::new(),
    }
}
