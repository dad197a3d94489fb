//! Records every run through its log (`effect <dedupe_id> attempt <n>`), so a test can count
//! effects from the host's log. By the message text: `reject` → reject; `retry-once` → retry on
//! the first attempt; `always-retry` → retry every time; anything else → done.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn handle(event: Event) -> Outcome {
        log(
            Level::Info,
            &format!("effect {} attempt {}", event.dedupe_id, event.attempt),
        );
        let text = &event.envelope;
        if text.contains("always-retry") {
            Outcome::Retry("asked to always retry".into())
        } else if text.contains("retry-once") && event.attempt == 1 {
            Outcome::Retry("asked to retry once".into())
        } else if text.contains("reject") {
            Outcome::Reject("asked to reject".into())
        } else {
            Outcome::Done
        }
    }
}

export!(Component);
