//! Logs through every channel, reads its config and answers: `done` for events, a JSON
//! `respond` for callbacks.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

use aviary::handler::types::EventKind;

struct Component;

impl Guest for Component {
    fn handle(event: Event) -> Outcome {
        log(Level::Info, &format!("handling {}", event.event_id));
        println!("stdout from {}", event.event_id);
        eprintln!("stderr from {}", event.event_id);
        let greeting = config_get("greeting").unwrap_or_else(|| "none".to_string());
        match event.kind {
            EventKind::Event => Outcome::Done,
            EventKind::Callback => Outcome::Respond(format!(
                "{{\"greeting\":\"{greeting}\",\"event_id\":\"{}\"}}",
                event.event_id
            )),
        }
    }
}

export!(Component);
