//! Counts the events this instance has handled (global state, to observe instance reuse) and
//! answers `respond("<count>")`; event type `boom` traps instead.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

use std::sync::atomic::{AtomicU32, Ordering};

static HANDLED: AtomicU32 = AtomicU32::new(0);

struct Component;

impl Guest for Component {
    fn handle(event: Event) -> Outcome {
        let n = HANDLED.fetch_add(1, Ordering::Relaxed) + 1;
        if event.event_type == "boom" {
            std::process::abort();
        }
        Outcome::Respond(n.to_string())
    }
}

export!(Component);
