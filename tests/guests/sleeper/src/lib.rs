//! Overstays its welcome: event type `spin` busy-waits on the WASI monotonic clock for 60 s,
//! anything else sleeps 60 s (a blocking host call, which epochs cannot interrupt).
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

use std::time::{Duration, Instant};

struct Component;

impl Guest for Component {
    fn handle(event: Event) -> Outcome {
        let wait = Duration::from_secs(60);
        if event.event_type == "spin" {
            let start = Instant::now();
            while start.elapsed() < wait {}
        } else {
            std::thread::sleep(wait);
        }
        Outcome::Done
    }
}

export!(Component);
